"""Moves tasks forward: pending -> queued when dependencies allow, queued -> assigned when a slot frees;
and carries out cancels and drains (controls.py).

Each wake-up plans every decision it can from the fold (pure), then appends them all at once and
sends the dispatches of the assignments among them, so a burst of tasks costs a few round trips.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any

from core.coordinator import tracing
from core.coordinator.breakers import Breakers
from core.coordinator.controls import Controls
from core.coordinator.liveness import Liveness
from core.coordinator.decisions import Decisions
from core.coordinator.fleet import Fleet, need_of
from core.coordinator.writer import Plan, Writer
from core.domain import task as task_domain
from core.domain.placement import Candidate, Requirement, choose
from core.domain.task import TaskStatus
from core.events.envelope import Envelope
from core.events.task import (
    TaskCompleted,
    TaskCreated,
    TaskEvent,
    TaskFailed,
    TaskRetryRequested,
    TaskRetryScheduled,
    TaskTimedOut,
)
from core.messages import Dispatch
from core.metrics import PLACEMENT_SECONDS
from core.runtime import cancel_and_wait

log = logging.getLogger(__name__)

# Decisions in flight at once: bounds memory and the JetStream publish window.
MAX_IN_FLIGHT = 4096
# Events that end a run on an agent: they move its circuit breaker's streak.
RUN_ENDS = frozenset({TaskCompleted, TaskFailed, TaskRetryScheduled, TaskTimedOut})
# Events that put a task up for its dependencies' check.
TO_CHECK = frozenset({TaskCreated, TaskRetryRequested})


class Scheduler:
    def __init__(self, fleet: Fleet, decisions: Decisions, writer: Writer, controls: Controls,
                 trace: tracing.CoordinatorTracing | None = None, liveness: Liveness | None = None,
                 breakers: Breakers | None = None) -> None:
        self._liveness = liveness
        self._breakers = breakers
        self._fleet = fleet
        self._decisions = decisions
        self._writer = writer
        self._controls = controls
        self._trace = trace
        # Insertion-ordered (a dict, not a set): tasks are queued in the order they were created.
        self._to_check: dict[str, None] = {}
        self._wake = asyncio.Event()
        self._tick = 0
        self._in_flight = 0
        self._running: set[asyncio.Task[None]] = set()
        # Wakes the loop when the next retry's backoff ends.
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: datetime | None = None

    def note(self, envelope: Envelope[Any]) -> None:
        """React to a folded event (only once caught up with the log)."""
        if envelope.aggregate == "task":
            entry = self._fleet.tasks.get(envelope.aggregate_id)
            kind = type(envelope.data)
            if kind in TO_CHECK:
                self._to_check[envelope.aggregate_id] = None
            elif entry is not None and task_domain.is_terminal(entry.task):
                self._to_check.update(dict.fromkeys(sorted(self._fleet.dependents.get(envelope.aggregate_id, ()))))
            elif entry is not None and entry.task.cancel_requested_at is not None:
                self._controls.cancel(envelope.aggregate_id)
            if self._breakers is not None and kind in RUN_ENDS and envelope.data.agent_id:
                self._breakers.note(envelope.data.agent_id)
        elif envelope.aggregate == "agent":
            self._controls.agent_changed(envelope.aggregate_id)
        self._wake.set()

    def poke(self) -> None:
        self._wake.set()

    def take_over(self) -> None:
        """After catching up with the log: resume everything in flight."""
        resend: list[tuple[str, Dispatch]] = []
        for entry in self._fleet.tasks.values():
            task = entry.task
            if task.status is TaskStatus.PENDING:
                self._to_check[task.id] = None
            elif task.status is TaskStatus.ASSIGNED and task.agent_id:
                # The dispatch may not have been sent before a crash; its msg id makes a resend harmless.
                resend.append((task.agent_id, dispatch_of(task)))
        if resend:
            self._spawn(self._writer.dispatch_many(resend), 0)
        self._controls.sweep()  # cancels, drains and hand-backs the last leader left unfinished
        if self._liveness is not None:
            self._liveness.start(datetime.now(UTC))
        if self._breakers is not None:
            self._breakers.sweep()
        self._wake.set()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            planned_ns = tracing.now_ns() if self._trace is not None else 0
            plans: list[Plan] = []
            assignments: dict[str, str] = {}
            now = datetime.now(UTC)
            self._release_due(now)
            candidates = self._fleet.candidates()
            # First: a task being cancelled must not be queued or placed by the steps after.
            orders = self._controls.plan(plans, self._decide)
            if self._liveness is not None and self._liveness.take_due():
                self._liveness.plan(plans, now)
            if self._breakers is not None:
                self._breakers.plan(plans, now)
            self._advance_pending(plans, assignments, candidates)
            self._place(plans, assignments, candidates)
            if plans:
                self._spawn(self._execute(plans, assignments, planned_ns), len(plans))
            if orders:
                self._spawn(self._controls.send(orders), 0)

    def _release_due(self, now: datetime) -> None:
        """Retries whose backoff ended, and agents whose circuit cooldown ended, become placeable; wake up again
        when the next of either is due."""
        times = [t for t in (self._fleet.release_due(now), self._fleet.refresh_circuits(now)) if t is not None]
        due = min(times) if times else None
        if due is not None and (self._timer is None or self._timer_at is None or due < self._timer_at):
            if self._timer is not None:
                self._timer.cancel()
            delay = max(0.0, (due - now).total_seconds())
            self._timer, self._timer_at = asyncio.get_running_loop().call_later(delay, self._due), due

    def _due(self) -> None:
        self._timer = self._timer_at = None
        self._wake.set()

    def _room(self, plans: list[Plan]) -> bool:
        return self._in_flight + len(plans) < MAX_IN_FLIGHT

    def _advance_pending(self, plans: list[Plan], assignments: dict[str, str], candidates: list[Candidate]) -> None:
        checks, self._to_check = list(self._to_check), {}
        now = datetime.now(UTC)
        for n, task_id in enumerate(checks):
            if not self._room(plans):
                # The rest wait for room (a finished batch wakes us), ahead of anything noted since.
                self._to_check = dict.fromkeys(checks[n:]) | self._to_check
                return
            entry = self._fleet.tasks.get(task_id)
            if (entry is None or entry.task.status is not TaskStatus.PENDING or self._decisions.is_open(task_id)
                    or entry.task.cancel_requested_at is not None):
                continue
            ready, failed_dep = self._fleet.pending_ready(task_id)
            if ready:
                events: list[TaskEvent] = task_domain.queue(entry.task)
                queued = task_domain.after(entry.task, events, now)
                need = need_of(queued)
                # Straight to an agent only when nothing is waiting ahead of it for the same kind of slot.
                agent = None if self._fleet.ready.get(need) else self._choose(need, candidates)
                if agent is not None:
                    events += task_domain.assign(queued, agent.id)
                    assignments[task_id] = self._reserve(agent)
            elif failed_dep is not None:
                events = [TaskFailed(attempt=entry.task.attempt, error=f"dependency {failed_dep} did not complete",
                                     reason="dependency_failed")]
            else:
                continue
            plans.append(self._plan(task_id, events, entry.last_seq, assignments.get(task_id)))

    def _place(self, plans: list[Plan], assignments: dict[str, str], candidates: list[Candidate]) -> None:
        # With every slot taken there is nothing to try (and a try per kind of task per wake-up adds up).
        if not any(c.online and c.in_flight < c.max_concurrency for c in candidates):
            return
        for need in list(self._fleet.ready):
            while self._room(plans) and (task_id := self._fleet.peek_ready(need)) is not None:
                agent = self._choose(need, candidates)
                if agent is None:
                    break
                self._fleet.pop_ready(need)
                entry = self._fleet.tasks[task_id]
                if (self._decisions.is_open(task_id) or task_id in assignments
                        or entry.task.cancel_requested_at is not None):
                    continue
                assignments[task_id] = self._reserve(agent)
                plans.append(self._plan(task_id, task_domain.assign(entry.task, agent.id), entry.last_seq,
                                        agent.id))

    def _choose(self, need: Requirement, candidates: list[Candidate]) -> Candidate | None:
        started = time.perf_counter()
        if need.agent_id is not None:  # pinned: its agent is the only candidate
            pinned = self._fleet.agents.get(need.agent_id)
            candidates = [pinned.candidate] if pinned is not None else []
        agent = choose(need, candidates)
        PLACEMENT_SECONDS.observe(time.perf_counter() - started)
        return agent

    def _reserve(self, agent: Candidate) -> str:
        self._tick += 1
        agent.last_assigned = self._tick
        self._fleet.reserve(agent.id, +1)
        return agent.id

    def _plan(self, task_id: str, events: list[TaskEvent], expected_seq: int, agent_id: str | None) -> Plan:
        release = None if agent_id is None else (lambda: self._fleet.reserve(agent_id, -1))
        return Plan(task_id, events, expected_seq, correlation_id=task_id, on_settled=release)

    def _decide(self, task_id: str, events: list[TaskEvent], expected_seq: int) -> Plan:
        return self._plan(task_id, events, expected_seq, None)

    async def _execute(self, plans: list[Plan], assignments: dict[str, str], planned_ns: int = 0) -> None:
        stored = await self._writer.decide_many(plans)
        jobs: list[tuple[str, Dispatch]] = []
        for plan, ok in zip(plans, stored, strict=True):
            if not ok:
                self._retry(plan.aggregate_id)
                continue
            agent_id = assignments.get(plan.aggregate_id)
            if agent_id is None:
                continue
            # The dispatch is built from the plan, not the fold: its events may not be folded back yet.
            entry = self._fleet.tasks[plan.aggregate_id]
            attempt = plan.events[-1].attempt  # type: ignore[attr-defined]
            jobs.append((agent_id, dispatch_of(entry.task, attempt)))
        if jobs and self._trace is not None:
            spans = self._trace.placements(jobs, planned_ns)
            try:
                await self._writer.dispatch_many(jobs, tracing.traceparents(spans))
            finally:
                tracing.end(spans)
        elif jobs:
            await self._writer.dispatch_many(jobs)

    def _retry(self, task_id: str) -> None:
        """A decision lost a race: decide again (from the fold, which will soon show what won)."""
        entry = self._fleet.tasks.get(task_id)
        if entry is None:
            if self._breakers is not None and task_id in self._fleet.agents:
                self._breakers.note(task_id)  # an agent decision: the liveness loop retries its own
            self._wake.set()
            return
        task = entry.task
        if task.cancel_requested_at is not None:
            self._controls.cancel(task_id)
        elif task.status is TaskStatus.QUEUED:
            self._fleet.enqueue(task, entry.last_seq)
        elif task.status is TaskStatus.PENDING:
            self._to_check[task_id] = None
        elif task.status is TaskStatus.ASSIGNED and task.agent_id:
            self._controls.agent_changed(task.agent_id)  # a hand-back to decide again, if its agent left
        self._wake.set()

    def _spawn(self, coro: Any, weight: int) -> None:
        self._in_flight += weight
        task = asyncio.create_task(coro)
        self._running.add(task)

        def done(t: asyncio.Task[None]) -> None:
            self._running.discard(t)
            self._in_flight -= weight
            if not t.cancelled() and t.exception() is not None:
                log.error("scheduler decision failed", exc_info=t.exception())
            self._wake.set()

        task.add_done_callback(done)

    async def close(self) -> None:
        await cancel_and_wait(*self._running)


def dispatch_of(task: task_domain.Task, attempt: int | None = None) -> Dispatch:
    spec = task.spec
    return Dispatch(
        task_id=task.id, attempt=task.attempt if attempt is None else attempt, title=spec.title,
        prompt=spec.prompt, model=spec.model, capabilities=list(spec.capabilities), payload=spec.payload,
        timeout_s=spec.timeout_s,
    )
