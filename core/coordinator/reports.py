"""Turns agents' reports into events, after checking each against the current assignment (fencing).

Task reports come in batches: every task's reports in the batch become one decision, and all the
decisions of a batch are appended together.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, assert_never

from core.coordinator.decisions import Decisions
from core.coordinator.fleet import Fleet
from core.coordinator.writer import Plan, Writer
from core.domain import agent as agent_domain
from core.domain import task as task_domain
from core.domain.retry import Failure, RetryPolicy
from core.domain.task import Task
from core.errors import StaleReport
from core.events.agent import AgentRegistered
from core.events.task import TaskEvent
from core.messages import Completed, Deregistered, Failed, Registered, Started

log = logging.getLogger(__name__)

TaskReport = Started | Completed | Failed


def task_events(task: Task, report: TaskReport, policy: RetryPolicy, now: datetime, jitter: float) -> list[TaskEvent]:
    """What one report means for the task as it stands: its events, none (an echo) or a rejection."""
    try:
        match report:
            case Started():
                return task_domain.record_start(task, report.agent_id, report.attempt, report.sent_at)
            case Completed():
                return task_domain.record_completion(task, report.agent_id, report.attempt, report.result,
                                                     report.started_at)
            case Failed():
                failure = Failure(reason=report.reason, error=report.error, retryable=report.retryable,
                                  agent_id=report.agent_id, exit_code=report.exit_code, output=report.output)
                return task_domain.record_failure(task, failure, report.attempt, policy, now, jitter,
                                                  report.started_at)
            case _:
                assert_never(report)
    except StaleReport as err:
        kind = _kind(report)
        if _is_echo(task, report.agent_id, report.attempt, kind):
            return []  # a redelivered report of something already recorded
        log.info("rejected: %s", err)
        return task_domain.reject_report(report.agent_id, report.attempt, kind, str(err))


class ReportHandler:
    def __init__(self, fleet: Fleet, decisions: Decisions, writer: Writer, policy: RetryPolicy,
                 jitter: Callable[[], float] = random.random) -> None:
        self._policy = policy
        self._jitter = jitter
        self._fleet = fleet
        self._decisions = decisions
        self._writer = writer
        self._agent_handlers: dict[type[Any], Callable[[Any], Any]] = {
            Registered: self._registered,
            Deregistered: self._deregistered,
        }

    async def handle_agent_report(self, report: Registered | Deregistered) -> None:
        await self._agent_handlers[type(report)](report)

    async def handle_task_reports(self, by_task: Mapping[str, Sequence[TaskReport]]) -> list[str]:
        """Record every task's reports (in order); returns the ids whose decision lost a race (redo them)."""
        for task_id in by_task:
            await self._decisions.settled(task_id)
        now = datetime.now(UTC)
        plans: list[Plan] = []
        for task_id, reports in by_task.items():
            entry = self._fleet.tasks.get(task_id)
            if entry is None:
                log.warning("reports from %s for unknown task %s: dropped", reports[0].agent_id, task_id)
                continue
            state, events = entry.task, []
            for report in reports:
                step = task_events(state, report, self._policy, now, self._jitter())
                state = task_domain.after(state, step, now) if step else state
                events += step
            if events:
                plans.append(Plan(task_id, events, entry.last_seq, correlation_id=task_id))
        stored = await self._writer.decide_many(plans)
        return [plan.aggregate_id for plan, ok in zip(plans, stored, strict=True) if not ok]

    async def _registered(self, r: Registered) -> None:
        await self._decisions.settled(r.agent_id)
        entry = self._fleet.agents.get(r.agent_id)
        event = AgentRegistered(
            name=r.name, session_id=r.session_id, capabilities=r.capabilities, models=r.models,
            max_concurrency=r.max_concurrency, executor=r.executor, hardware=r.hardware, version=r.version,
        )
        events = agent_domain.register(entry.agent if entry else None, event)
        await self._writer.decide(Plan(r.agent_id, list(events), entry.last_seq if entry else 0))

    async def _deregistered(self, r: Deregistered) -> None:
        await self._decisions.settled(r.agent_id)
        entry = self._fleet.agents.get(r.agent_id)
        events = agent_domain.deregister(entry.agent if entry else None, r.session_id, r.reason)
        if entry is not None:
            await self._writer.decide(Plan(r.agent_id, list(events), entry.last_seq))


def _kind(report: TaskReport) -> str:
    tag = type(report).__struct_config__.tag
    assert isinstance(tag, str)
    return tag


def _is_echo(task: Task, agent_id: str, attempt: int, kind: str) -> bool:
    """The same agent and attempt already moved the task past this report."""
    if kind in ("failed", "started") and (task.failed_agent_id, task.failed_attempt) == (agent_id, attempt):
        return True  # that run's failure was recorded and a retry queued
    if task.agent_id != agent_id or task.attempt != attempt:
        return False
    status = task.status.value
    return ((kind == "started" and status in ("running", "completed", "failed", "cancelled", "timed_out"))
            or (kind == status)
            # a stopped run's failure was recorded as its cancel, or as the timeout it was
            or (kind == "failed" and status in ("cancelled", "timed_out")))
