"""Moves tasks forward: pending -> queued when dependencies allow, queued -> assigned when a slot frees."""

from __future__ import annotations

import asyncio
import heapq
import logging
from typing import Any

from core.coordinator.decisions import Decisions
from core.coordinator.fleet import Fleet, requirement_of
from core.coordinator.writer import Writer
from core.domain import task as task_domain
from core.domain.placement import choose
from core.domain.task import TaskStatus
from core.events.envelope import Envelope
from core.events.task import TaskCreated, TaskFailed
from core.messages import Dispatch
from core.runtime import cancel_and_wait

log = logging.getLogger(__name__)

# Decisions in flight at once; bounds memory and keeps the JetStream publish window sane.
MAX_IN_FLIGHT = 512


class Scheduler:
    def __init__(self, fleet: Fleet, decisions: Decisions, writer: Writer) -> None:
        self._fleet = fleet
        self._decisions = decisions
        self._writer = writer
        self._to_check: set[str] = set()
        self._wake = asyncio.Event()
        self._tick = 0
        self._slots = asyncio.Semaphore(MAX_IN_FLIGHT)
        self._running: set[asyncio.Task[None]] = set()

    def note(self, envelope: Envelope[Any]) -> None:
        """React to a folded event (only once caught up with the log)."""
        if envelope.aggregate == "task":
            entry = self._fleet.tasks.get(envelope.aggregate_id)
            if isinstance(envelope.data, TaskCreated):
                self._to_check.add(envelope.aggregate_id)
            elif entry is not None and task_domain.is_terminal(entry.task):
                self._to_check.update(self._fleet.dependents.get(envelope.aggregate_id, ()))
        self._wake.set()

    def take_over(self) -> None:
        """After catching up with the log: resume everything in flight."""
        for entry in self._fleet.tasks.values():
            task = entry.task
            if task.status is TaskStatus.PENDING:
                self._to_check.add(task.id)
            elif task.status is TaskStatus.ASSIGNED and task.agent_id:
                # The dispatch may not have been sent before a crash; its msg id makes a resend harmless.
                self._spawn(self._writer.dispatch(task.agent_id, _dispatch_of(task)))
        self._wake.set()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self._advance_pending()
            await self._place()

    async def _advance_pending(self) -> None:
        checks, self._to_check = self._to_check, set()
        for task_id in checks:
            entry = self._fleet.tasks.get(task_id)
            if entry is None or entry.task.status is not TaskStatus.PENDING or self._decisions.is_open(task_id):
                continue
            ready, failed_dep = self._fleet.pending_ready(task_id)
            if ready:
                events: list[Any] = task_domain.queue(entry.task)
            elif failed_dep is not None:
                events = [TaskFailed(attempt=entry.task.attempt, error=f"dependency {failed_dep} did not complete",
                                     reason="dependency_failed")]
            else:
                continue
            await self._slots.acquire()
            self._spawn(self._writer.decide(task_id, events, entry.last_seq, correlation_id=task_id), release=True)

    async def _place(self) -> None:
        candidates = self._fleet.candidates()
        if not candidates:
            return
        for need in list(self._fleet.ready):
            while (task_id := self._fleet.peek_ready(need)) is not None:
                agent = choose(need, candidates)
                if agent is None:
                    break
                self._fleet.pop_ready(need)
                if self._decisions.is_open(task_id):
                    continue
                self._tick += 1
                agent.last_assigned = self._tick
                self._fleet.reserve(agent.id, +1)
                await self._slots.acquire()
                self._spawn(self._assign(task_id, agent.id), release=True)

    async def _assign(self, task_id: str, agent_id: str) -> None:
        entry = self._fleet.tasks[task_id]
        events = task_domain.assign(entry.task, agent_id)
        ok = await self._writer.decide(
            task_id, events, entry.last_seq, correlation_id=task_id,
            on_settled=lambda: self._fleet.reserve(agent_id, -1),
        )
        if not ok:
            self._requeue(task_id)
            return
        await self._writer.dispatch(agent_id, _dispatch_of(entry.task))

    def _requeue(self, task_id: str) -> None:
        entry = self._fleet.tasks.get(task_id)
        if entry is not None and entry.task.status is TaskStatus.QUEUED:
            heap = self._fleet.ready.setdefault(requirement_of(entry.task.spec), [])
            heapq.heappush(heap, (-entry.task.spec.priority, entry.last_seq, task_id))
        self._wake.set()

    def _spawn(self, coro: Any, release: bool = False) -> None:
        task = asyncio.create_task(coro)
        self._running.add(task)

        def done(t: asyncio.Task[None]) -> None:
            self._running.discard(t)
            if release:
                self._slots.release()
            if not t.cancelled() and t.exception() is not None:
                log.error("scheduler decision failed", exc_info=t.exception())
            self._wake.set()

        task.add_done_callback(done)

    async def close(self) -> None:
        await cancel_and_wait(*self._running)


def _dispatch_of(task: task_domain.Task) -> Dispatch:
    spec = task.spec
    return Dispatch(
        task_id=task.id, attempt=task.attempt, title=spec.title, prompt=spec.prompt, model=spec.model,
        capabilities=list(spec.capabilities), payload=spec.payload, timeout_s=spec.timeout_s,
    )
