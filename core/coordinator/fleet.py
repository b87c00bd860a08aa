"""The coordinator's view of the world: a fold of the event log plus the indexes decisions need. Pure."""

from __future__ import annotations

import heapq
from collections import Counter, deque
from datetime import datetime
from typing import Any

import msgspec

from core.domain import agent as agent_domain
from core.domain import task as task_domain
from core.domain.agent import Agent, AgentStatus
from core.domain.placement import Candidate, Requirement
from core.domain.task import HOLDS_SLOT, TERMINAL, Task, TaskStatus
from core.events.agent import AgentRegistered
from core.events.envelope import Recorded
from core.events.task import (
    TaskCompleted,
    TaskCreated,
    TaskFailed,
    TaskPinned,
    TaskRetryScheduled,
    TaskTimedOut,
)

# Failures that count against the agent that ran the task (its circuit breaker), by reason.
AGENT_FAULTS = frozenset({"executor_error", "timed_out"})


class TaskEntry(msgspec.Struct, kw_only=True):
    task: Task
    last_seq: int
    # The seq of its latest (re-)queuing: heap entries with another seq are stale (placed and queued again since).
    queued_seq: int = 0


class AgentEntry(msgspec.Struct, kw_only=True):
    agent: Agent
    last_seq: int
    candidate: Candidate
    tasks: set[str] = msgspec.field(default_factory=set)
    # Assignments decided but not yet folded back from the log.
    reserved: int = 0
    # Runs that failed on this agent in a row (its circuit breaker opens at a threshold); a completion resets it.
    failure_streak: int = 0

    def recount(self) -> None:
        self.candidate.in_flight = len(self.tasks) + self.reserved


def requirement_of(spec: TaskCreated, pinned: str | None = None) -> Requirement:
    return Requirement(capabilities=tuple(sorted(set(spec.capabilities))), model=spec.model, agent_id=pinned,
                       min_vram_mb=spec.min_vram_mb)


def need_of(task: Task) -> Requirement:
    """What placing the task takes: its spec's requirement, and its pin if an admin set one."""
    return requirement_of(task.spec, task.pinned_agent_id)


class Fleet:
    """Tasks and agents as of the last applied stream sequence."""

    def __init__(self, aging_s: float = 10.0) -> None:
        self.tasks: dict[str, TaskEntry] = {}
        self.agents: dict[str, AgentEntry] = {}
        self.applied_seq = 0
        # Waiting time worth one priority level: a task queued aging_s earlier ranks as if one level higher,
        # so low priority never starves (and within a priority, first queued goes first).
        self.aging_s = aging_s
        # Ready tasks grouped by what they need: (ready time - priority * aging_s, queued seq, task id) heaps.
        self.ready: dict[Requirement, list[tuple[float, int, str]]] = {}
        # Retries waiting out their backoff: (not before, seq, task id); the scheduler moves them when due.
        self.delayed: list[tuple[datetime, int, str]] = []
        # dependency id -> pending tasks waiting for it
        self.dependents: dict[str, set[str]] = {}
        # Tasks by status, and the latest tasks to reach an end state (for the metrics; drained by them).
        self.by_status: Counter[TaskStatus] = Counter()
        self.finished: deque[Task] = deque(maxlen=10_000)
        # Tasks with a cancel requested that have not ended yet (insertion-ordered).
        self.cancelling: dict[str, None] = {}

    # -- folding -----------------------------------------------------------------------------------

    def apply(self, rec: Recorded[Any]) -> None:
        env = rec.envelope
        if env.aggregate == "task":
            self._apply_task(rec)
        elif env.aggregate == "agent":
            self._apply_agent(rec)
        self.applied_seq = max(self.applied_seq, rec.seq)

    def _apply_task(self, rec: Recorded[Any]) -> None:
        env = rec.envelope
        entry = self.tasks.get(env.aggregate_id)
        before = entry.task.status if entry else None
        before_agent = entry.task.agent_id if entry else None
        task = task_domain.evolve(entry.task if entry else None, env)
        if entry is None:
            entry = self.tasks[task.id] = TaskEntry(task=task, last_seq=rec.seq)
            for dep in task.spec.depends_on:
                self.dependents.setdefault(dep, set()).add(task.id)
        entry.last_seq = rec.seq
        if task.status is not before:
            if before is not None:
                self.by_status[before] -= 1
            self.by_status[task.status] += 1
            if task.status in TERMINAL:
                self.finished.append(task)
        # A pin moves a queued task to its agent's own heap (the old entry goes stale: see peek_ready).
        if task.status is TaskStatus.QUEUED and (before is not TaskStatus.QUEUED or type(env.data) is TaskPinned):
            self.enqueue(task, rec.seq)
        self._count_agent_outcome(env.data)
        if task.cancel_requested_at is not None:
            if task.status in TERMINAL:
                self.cancelling.pop(task.id, None)
            else:
                self.cancelling[task.id] = None
        if before in HOLDS_SLOT and before_agent and (task.status not in HOLDS_SLOT or task.agent_id != before_agent):
            self._release(before_agent, task.id)
        if task.status in HOLDS_SLOT and task.agent_id and before not in HOLDS_SLOT:
            self._hold(task.agent_id, task.id)

    def enqueue(self, task: Task, seq: int) -> None:
        """Into its ready heap, or the delayed heap while a retry's backoff runs."""
        entry = self.tasks.get(task.id)
        if entry is not None:
            entry.queued_seq = seq
        if task.not_before is not None:
            heapq.heappush(self.delayed, (task.not_before, seq, task.id))
            return
        ready_at = task.queued_at or task.created_at
        key = ready_at.timestamp() - task.spec.priority * self.aging_s
        heapq.heappush(self.ready.setdefault(need_of(task), []), (key, seq, task.id))

    def release_due(self, now: datetime) -> datetime | None:
        """Move retries whose backoff ended into their ready heaps; returns when the next one is due."""
        while self.delayed and self.delayed[0][0] <= now:
            not_before, seq, task_id = heapq.heappop(self.delayed)
            entry = self.tasks.get(task_id)
            if (entry is None or entry.task.status is not TaskStatus.QUEUED or entry.task.not_before != not_before
                    or entry.queued_seq != seq):
                continue  # stale: placed, cancelled, or queued again since
            key = not_before.timestamp() - entry.task.spec.priority * self.aging_s
            heapq.heappush(self.ready.setdefault(need_of(entry.task), []), (key, seq, task_id))
        return self.delayed[0][0] if self.delayed else None

    def _count_agent_outcome(self, event: Any) -> None:
        # Type checks, not a `match` on class patterns: this runs for every task event the coordinator folds.
        kind = type(event)
        if kind is TaskCompleted:
            if (a := self.agents.get(event.agent_id)) is not None:
                a.failure_streak = 0
        elif kind is TaskTimedOut or ((kind is TaskFailed or kind is TaskRetryScheduled)
                                      and event.reason in AGENT_FAULTS):
            if event.agent_id and (a := self.agents.get(event.agent_id)) is not None:
                a.failure_streak += 1

    def _hold(self, agent_id: str, task_id: str) -> None:
        a = self.agents.get(agent_id)
        if a is not None and task_id not in a.tasks:
            a.tasks.add(task_id)
            a.recount()

    def _release(self, agent_id: str, task_id: str) -> None:
        a = self.agents.get(agent_id)
        if a is not None:
            a.tasks.discard(task_id)
            a.recount()

    def _apply_agent(self, rec: Recorded[Any]) -> None:
        env = rec.envelope
        entry = self.agents.get(env.aggregate_id)
        agent = agent_domain.evolve(entry.agent if entry else None, env)
        if entry is None:
            candidate = Candidate(
                id=agent.id, capabilities=agent.capabilities, models=agent.models,
                max_concurrency=agent.max_concurrency, in_flight=0,
            )
            entry = self.agents[agent.id] = AgentEntry(agent=agent, last_seq=rec.seq, candidate=candidate)
            # Tasks assigned before this agent's registration was folded (replay order) still hold slots.
            for t in self.tasks.values():
                if t.task.agent_id == agent.id and t.task.status in HOLDS_SLOT:
                    entry.tasks.add(t.task.id)
        entry.agent, entry.last_seq = agent, rec.seq
        if isinstance(env.data, AgentRegistered):
            entry.failure_streak = 0  # a new session starts with a clean record (and a closed circuit)
        c = entry.candidate
        c.capabilities, c.models, c.max_concurrency = agent.capabilities, agent.models, agent.max_concurrency
        entry.recount()
        self._set_online(entry, None)

    @staticmethod
    def _set_online(entry: AgentEntry, now: datetime | None) -> None:
        # With no clock (folding), an open circuit counts as open; refresh_circuits(now) says when it ended.
        until = entry.agent.circuit_open_until
        tripped = until is not None and (now is None or until > now)
        entry.candidate.online = entry.agent.status is AgentStatus.ONLINE and not tripped

    def refresh_circuits(self, now: datetime) -> datetime | None:
        """Agents whose cooldown ended take work again (half-open); returns when the next cooldown ends."""
        nearest: datetime | None = None
        for entry in self.agents.values():
            until = entry.agent.circuit_open_until
            if until is None:
                continue
            self._set_online(entry, now)
            if until > now and (nearest is None or until < nearest):
                nearest = until
        return nearest

    def reserve(self, agent_id: str, delta: int) -> None:
        a = self.agents.get(agent_id)
        if a is not None:
            a.reserved = max(0, a.reserved + delta)
            a.recount()

    # -- queries -----------------------------------------------------------------------------------

    def pending_ready(self, task_id: str) -> tuple[bool, str | None]:
        """(dependencies all completed, id of a dependency that ended without completing)."""
        entry = self.tasks[task_id]
        for dep in entry.task.spec.depends_on:
            dep_entry = self.tasks.get(dep)
            if dep_entry is None or dep_entry.task.status is not TaskStatus.COMPLETED:
                if dep_entry is not None and task_domain.is_terminal(dep_entry.task):
                    return False, dep
                return False, None
        return True, None

    def peek_ready(self, need: Requirement) -> str | None:
        """The best ready task for a requirement group, dropping stale heap entries."""
        heap = self.ready.get(need)
        while heap:
            _, seq, task_id = heap[0]
            entry = self.tasks.get(task_id)
            # A task placed straight from pending left its queuing's entry behind: if it is queued again (a retry)
            # that old entry must not place it before its backoff, hence the seq check.
            if (entry is not None and entry.task.status is TaskStatus.QUEUED and entry.queued_seq == seq
                    and entry.task.pinned_agent_id == need.agent_id):
                return task_id
            heapq.heappop(heap)
        if heap is not None and not heap:
            del self.ready[need]
        return None

    def pop_ready(self, need: Requirement) -> None:
        heapq.heappop(self.ready[need])

    def candidates(self) -> list[Candidate]:
        return [a.candidate for a in self.agents.values()]
