"""Creates and cancels the Hive tasks of workflow nodes for the execution driver (appends through the Writer)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from core.coordinator.decisions import Decisions
from core.coordinator.fleet import Fleet
from core.coordinator.writer import Plan, Writer
from core.domain import task as task_domain
from core.events.task import TaskCancelRequested


class NodeTaskWriter:
    def __init__(self, fleet: Fleet, decisions: Decisions, writer: Writer) -> None:
        self._fleet = fleet
        self._decisions = decisions
        self._writer = writer
        # Tasks this process created, by execution: a crash between creating them and recording their
        # node_started leaves ids the fold does not know; ending the execution cancels them too.
        self.created: dict[str, set[str]] = {}
        self._cancels_sent: set[str] = set()

    def forget(self, execution_id: str, task_ids: Iterable[str]) -> None:
        self.created.pop(execution_id, None)
        self._cancels_sent.difference_update(task_ids)

    async def create(self, creates: list[tuple[str, Any]], execution_id: str) -> bool:
        """Append the TaskCreated of each new task; True once every one exists (made now or before)."""
        plans = [Plan(task_id, [created], expected_seq=0, correlation_id=execution_id)
                 for task_id, created in creates
                 if task_id not in self._fleet.tasks and not self._decisions.is_open(task_id)]
        if len(plans) < len(creates) and any(self._decisions.is_open(t) for t, _ in creates):
            return False  # still being created by an earlier decision: decide once it is folded
        self.created.setdefault(execution_id, set()).update(p.aggregate_id for p in plans)
        if plans:
            await self._writer.decide_many(plans)  # a False is a task that exists already: as good
        return True

    async def cancel(self, execution_id: str, task_ids: Iterable[str]) -> bool:
        """Ask each of these tasks that still runs (or waits to) to cancel, once; False if a request lost a race
        (decide again later)."""
        plans = []
        for task_id in dict.fromkeys(task_ids):
            entry = self._fleet.tasks.get(task_id)
            if (entry is None or task_domain.is_terminal(entry.task) or task_id in self._cancels_sent
                    or entry.task.cancel_requested_at is not None or self._decisions.is_open(task_id)):
                continue
            self._cancels_sent.add(task_id)
            plans.append(Plan(task_id, [TaskCancelRequested()], expected_seq=entry.last_seq,
                              correlation_id=execution_id))
        if not plans:
            return True
        done = True
        for plan, ok in zip(plans, await self._writer.decide_many(plans), strict=True):
            if not ok:
                self._cancels_sent.discard(plan.aggregate_id)
                done = False
        return done
