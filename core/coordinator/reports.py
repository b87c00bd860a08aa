"""Turns agents' reports into events, after checking each against the current assignment (fencing)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from core.coordinator.decisions import Decisions
from core.coordinator.fleet import Fleet
from core.coordinator.writer import Writer
from core.domain import agent as agent_domain
from core.domain import task as task_domain
from core.domain.task import Task
from core.errors import StaleReport
from core.events.agent import AgentRegistered
from core.messages import AnyReport, Completed, Deregistered, Failed, Registered, Started

log = logging.getLogger(__name__)


class ReportHandler:
    def __init__(self, fleet: Fleet, decisions: Decisions, writer: Writer) -> None:
        self._fleet = fleet
        self._decisions = decisions
        self._writer = writer
        self._handlers: dict[type[Any], Callable[[Any], Awaitable[None]]] = {
            Registered: self._registered,
            Deregistered: self._deregistered,
            Started: self._started,
            Completed: self._completed,
            Failed: self._failed,
        }

    async def handle(self, report: AnyReport) -> None:
        await self._handlers[type(report)](report)

    async def _registered(self, r: Registered) -> None:
        await self._decisions.settled(r.agent_id)
        entry = self._fleet.agents.get(r.agent_id)
        event = AgentRegistered(
            name=r.name, session_id=r.session_id, capabilities=r.capabilities, models=r.models,
            max_concurrency=r.max_concurrency, executor=r.executor, hardware=r.hardware, version=r.version,
        )
        events = agent_domain.register(entry.agent if entry else None, event)
        await self._writer.decide(r.agent_id, list(events), entry.last_seq if entry else 0)

    async def _deregistered(self, r: Deregistered) -> None:
        await self._decisions.settled(r.agent_id)
        entry = self._fleet.agents.get(r.agent_id)
        events = agent_domain.deregister(entry.agent if entry else None, r.session_id, r.reason)
        if entry is not None:
            await self._writer.decide(r.agent_id, list(events), entry.last_seq)

    async def _started(self, r: Started) -> None:
        await self._task_report(r.task_id, r.agent_id, r.attempt, "started",
                                lambda t: task_domain.record_start(t, r.agent_id, r.attempt))

    async def _completed(self, r: Completed) -> None:
        await self._task_report(r.task_id, r.agent_id, r.attempt, "completed",
                                lambda t: task_domain.record_completion(t, r.agent_id, r.attempt, r.result))

    async def _failed(self, r: Failed) -> None:
        await self._task_report(
            r.task_id, r.agent_id, r.attempt, "failed",
            lambda t: task_domain.record_failure(t, r.agent_id, r.attempt, r.error, r.retryable, r.exit_code, r.output),
        )

    async def _task_report(
        self, task_id: str, agent_id: str, attempt: int, kind: str, decide: Callable[[Task], list[Any]]
    ) -> None:
        await self._decisions.settled(task_id)
        entry = self._fleet.tasks.get(task_id)
        if entry is None:
            log.warning("%s report from %s for unknown task %s: dropped", kind, agent_id, task_id)
            return
        try:
            events = decide(entry.task)
        except StaleReport as err:
            if _is_echo(entry.task, agent_id, attempt, kind):
                return  # a redelivered report of something already recorded
            log.info("rejected: %s", err)
            events = task_domain.reject_report(agent_id, attempt, kind, str(err))
        await self._writer.decide(task_id, events, entry.last_seq, correlation_id=task_id)


def _is_echo(task: Task, agent_id: str, attempt: int, kind: str) -> bool:
    """The same agent and attempt already moved the task past this report."""
    if task.agent_id != agent_id or task.attempt != attempt:
        return False
    status = task.status.value
    return (kind == "started" and status in ("running", "completed", "failed")) or (kind == status)
