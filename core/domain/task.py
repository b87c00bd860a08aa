"""The task aggregate: its state machine as a fold, and decisions that return new events."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, assert_never

import msgspec

from core.domain.retry import AGENT_LOST, TIMED_OUT, Failure, RetryPolicy, retry_at
from core.errors import DomainError, StaleReport
from core.events.envelope import Envelope
from core.events.task import (
    TaskAssigned,
    TaskCancelled,
    TaskCancelRequested,
    TaskCompleted,
    TaskCreated,
    TaskEvent,
    TaskFailed,
    TaskPinned,
    TaskQueued,
    TaskReportRejected,
    TaskResult,
    TaskRetryRequested,
    TaskRetryScheduled,
    TaskStarted,
    TaskTimedOut,
)


class TaskStatus(StrEnum):
    PENDING = "pending"
    QUEUED = "queued"
    ASSIGNED = "assigned"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"


TERMINAL = frozenset({TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED, TaskStatus.TIMED_OUT})
# An assignment is live (holds an agent slot) in these states.
HOLDS_SLOT = frozenset({TaskStatus.ASSIGNED, TaskStatus.RUNNING})
# No agent holds the task yet: a pin may still choose its agent, a cancel ends it at once.
UNPLACED = frozenset({TaskStatus.PENDING, TaskStatus.QUEUED})


class Task(msgspec.Struct, kw_only=True):
    id: str
    spec: TaskCreated
    status: TaskStatus
    created_at: datetime
    updated_at: datetime
    attempt: int = 0
    agent_id: str | None = None
    result: TaskResult | None = None
    error: str | None = None
    queued_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    # Set once a cancel is requested; the task still runs until the coordinator records how it ended.
    cancel_requested_at: datetime | None = None
    # The only agent the task may be placed on (an admin's pin), if any.
    pinned_agent_id: str | None = None
    # The retry budget since creation (or the last client retry): failed or timed-out runs, and lost agents.
    failures: int = 0
    losses: int = 0
    # A retry waits in the queue until then (its backoff).
    not_before: datetime | None = None
    # Why the last attempt ended without a result (executor_error, timed_out, agent_lost, dependency_failed).
    failure_reason: str | None = None
    # Failed for good after running: a dead letter, until a client retries it.
    dead_lettered: bool = False
    # The latest attempt its agent reported failed (a redelivery of that report is an echo, not a late report).
    failed_agent_id: str | None = None
    failed_attempt: int = 0


def evolve(state: Task | None, envelope: Envelope[Any]) -> Task:
    """Apply one event; the fold never rejects history, it only describes it."""
    event: TaskEvent = envelope.data
    at = envelope.occurred_at
    if state is None:
        if not isinstance(event, TaskCreated):
            raise DomainError(f"task {envelope.aggregate_id}: history must start with task.created.v1, not {envelope.type}")
        return Task(id=envelope.aggregate_id, spec=event, status=TaskStatus.PENDING, created_at=at, updated_at=at)
    return _apply(state, event, at)


def after(state: Task, events: list[TaskEvent], at: datetime) -> Task:
    """A copy of `state` with `events` applied: one decision can chain steps (queue, then assign)."""
    state = msgspec.structs.replace(state)
    for event in events:
        state = _apply(state, event, at)
    return state


def _apply(state: Task, event: TaskEvent, at: datetime) -> Task:
    state.updated_at = at
    match event:
        case TaskCreated():
            raise DomainError(f"task {state.id}: created twice")
        case TaskQueued(attempt=attempt):
            state.status, state.attempt, state.agent_id, state.queued_at = TaskStatus.QUEUED, attempt, None, at
            state.not_before = None
        case TaskAssigned(agent_id=agent_id, attempt=attempt):
            state.status, state.agent_id, state.attempt = TaskStatus.ASSIGNED, agent_id, attempt
        case TaskStarted():
            state.status, state.started_at = TaskStatus.RUNNING, at
        case TaskCompleted(result=result):
            state.status, state.result, state.error, state.finished_at = TaskStatus.COMPLETED, result, None, at
        case TaskFailed(error=error, reason=reason, dead_lettered=dead):
            state.status, state.error, state.finished_at = TaskStatus.FAILED, error, at
            state.failure_reason, state.dead_lettered = reason, dead
            if reason != "dependency_failed":
                state.failures += reason != AGENT_LOST
                state.losses += reason == AGENT_LOST
        case TaskRetryScheduled(next_attempt=attempt, reason=reason, error=error, not_before=not_before):
            if reason != AGENT_LOST:
                state.failed_agent_id, state.failed_attempt = state.agent_id, state.attempt
            state.status, state.attempt, state.agent_id, state.queued_at = TaskStatus.QUEUED, attempt, None, at
            state.error, state.failure_reason, state.not_before = error, reason, not_before
            state.failures += reason != AGENT_LOST
            state.losses += reason == AGENT_LOST
        case TaskTimedOut(error=error, dead_lettered=dead):
            state.status, state.error, state.finished_at = TaskStatus.TIMED_OUT, error, at
            state.failure_reason, state.dead_lettered = TIMED_OUT, dead
            state.failures += 1
        case TaskRetryRequested():
            state.status, state.agent_id, state.result, state.error, state.finished_at = (
                TaskStatus.PENDING, None, None, None, None)
            state.failures = state.losses = 0
            state.failure_reason, state.dead_lettered, state.not_before = None, False, None
        case TaskReportRejected():
            pass
        case TaskCancelRequested():
            state.cancel_requested_at = at
        case TaskCancelled(reason=reason):
            state.status, state.error, state.finished_at = TaskStatus.CANCELLED, reason, at
        case TaskPinned(agent_id=agent_id):
            state.pinned_agent_id = agent_id
        case _:
            assert_never(event)
    return state


def fold(envelopes: list[Envelope[Any]]) -> Task | None:
    state: Task | None = None
    for envelope in envelopes:
        state = evolve(state, envelope)
    return state


# Decisions: each takes the state (and facts from outside as arguments) and returns events.


def queue(state: Task) -> list[TaskEvent]:
    """A created task whose dependencies are met enters the ready queue with attempt 1."""
    if state.status is not TaskStatus.PENDING:
        raise DomainError(f"task {state.id} is {state.status}, only a pending task can be queued")
    return [TaskQueued(attempt=state.attempt + 1)]


def assign(state: Task, agent_id: str) -> list[TaskEvent]:
    if state.status is not TaskStatus.QUEUED:
        raise DomainError(f"task {state.id} is {state.status}, only a queued task can be assigned")
    return [TaskAssigned(agent_id=agent_id, attempt=state.attempt)]


def request_cancel(state: Task) -> list[TaskEvent]:
    """A client's cancel: recorded once; the coordinator ends the task (at once, or once its agent stopped it)."""
    if state.status in TERMINAL:
        raise DomainError(f"task {state.id} already ended ({state.status}): there is nothing to cancel")
    if state.cancel_requested_at is not None:
        return []  # asked before: the cancel is under way
    return [TaskCancelRequested()]


def cancel(state: Task, agent_online: bool = False) -> list[TaskEvent]:
    """End a task whose cancel was requested, when no running agent has to stop it first: it is pending or
    queued, or the agent holding it is gone (`agent_online` false)."""
    if state.cancel_requested_at is None or state.status in TERMINAL:
        raise DomainError(f"task {state.id} is {state.status} and no cancel is pending")
    if state.status in UNPLACED:
        return [TaskCancelled(attempt=state.attempt, reason="cancelled on request before it ran")]
    if agent_online:
        raise DomainError(f"task {state.id} is {state.status} on agent {state.agent_id}: the agent must stop it first")
    return [TaskCancelled(attempt=state.attempt, agent_id=state.agent_id,
                          reason=f"cancelled on request; agent {state.agent_id} had gone offline")]


def pin(state: Task, agent_id: str) -> list[TaskEvent]:
    """Place the task on `agent_id` only; possible while no agent holds it and no cancel is under way."""
    if state.status not in UNPLACED:
        raise DomainError(f"task {state.id} is {state.status}: only a pending or queued task can be assigned")
    if state.cancel_requested_at is not None:
        raise DomainError(f"task {state.id} is being cancelled: it cannot be assigned")
    if state.pinned_agent_id == agent_id:
        return []
    return [TaskPinned(agent_id=agent_id)]


def hand_back(state: Task) -> list[TaskEvent]:
    """An assignment its agent never started and never will (the agent deregistered): queue a new attempt."""
    if state.status is not TaskStatus.ASSIGNED:
        raise DomainError(f"task {state.id} is {state.status}: only an assigned task not yet started is handed back")
    return [TaskQueued(attempt=state.attempt + 1)]


def _check_fence(state: Task, agent_id: str, attempt: int, report: str) -> None:
    if state.status not in HOLDS_SLOT or state.agent_id != agent_id or state.attempt != attempt:
        raise StaleReport(
            f"task {state.id}: {report} report from {agent_id} attempt {attempt} does not match "
            f"the current assignment ({state.status}, {state.agent_id}, attempt {state.attempt})"
        )


def record_start(state: Task, agent_id: str, attempt: int, reported_at: datetime | None = None) -> list[TaskEvent]:
    _check_fence(state, agent_id, attempt, "started")
    if state.status is TaskStatus.RUNNING:
        return []  # a redelivered start report: already recorded
    return [TaskStarted(agent_id=agent_id, attempt=attempt, reported_at=reported_at)]


def record_completion(
    state: Task, agent_id: str, attempt: int, result: TaskResult, started_at: datetime | None = None
) -> list[TaskEvent]:
    _check_fence(state, agent_id, attempt, "completed")
    events: list[TaskEvent] = []
    if state.status is TaskStatus.ASSIGNED:
        # No start report (a short task's is folded into its final one, or it was lost or overtaken):
        # the history still shows the task ran, and when, if the agent said.
        events.append(TaskStarted(agent_id=agent_id, attempt=attempt, reported_at=started_at))
    events.append(TaskCompleted(agent_id=agent_id, attempt=attempt, result=result))
    return events


def record_failure(
    state: Task, failure: Failure, attempt: int, policy: RetryPolicy, now: datetime, jitter: float,
    started_at: datetime | None = None,
) -> list[TaskEvent]:
    """An agent's failed run: a cancel if one was asked for, else a retry or the end, as the policy says."""
    agent_id = failure.agent_id or ""
    _check_fence(state, agent_id, attempt, "failed")
    events: list[TaskEvent] = []
    if state.status is TaskStatus.ASSIGNED and started_at is not None:
        events.append(TaskStarted(agent_id=agent_id, attempt=attempt, reported_at=started_at))
    if state.cancel_requested_at is not None:
        # The agent stopped the run because of the cancel (or it failed meanwhile): it ends cancelled, never retried.
        events.append(TaskCancelled(agent_id=agent_id, attempt=attempt, reason=f"cancelled on request ({failure.error})",
                                    output=failure.output, exit_code=failure.exit_code))
        return events
    return events + end_attempt(state, failure, policy, now, jitter)


def end_attempt(state: Task, failure: Failure, policy: RetryPolicy, now: datetime, jitter: float) -> list[TaskEvent]:
    """The current attempt ended without a result: queue the next one (after a backoff) while the budget allows,
    else fail the task for good as a dead letter. A lost agent's attempt is re-queued at once and counted apart."""
    f = failure
    lost = f.reason == AGENT_LOST
    if lost:
        again = state.losses + 1 < policy.max_agent_losses
        not_before = now
    else:
        again = f.retryable and state.failures + 1 < state.spec.max_attempts
        not_before = retry_at(policy, state.spec.retry_backoff_s, state.failures + 1, now, jitter)
    if again:
        return [TaskRetryScheduled(attempt=state.attempt, next_attempt=state.attempt + 1, agent_id=f.agent_id,
                                   reason=f.reason, error=f.error, exit_code=f.exit_code, output=f.output,
                                   not_before=not_before)]
    if f.reason == TIMED_OUT:
        return [TaskTimedOut(attempt=state.attempt, agent_id=f.agent_id, error=f.error, output=f.output,
                             exit_code=f.exit_code)]
    return [TaskFailed(agent_id=f.agent_id, attempt=state.attempt, error=f.error, reason=f.reason,
                       retryable=f.retryable, exit_code=f.exit_code, output=f.output, dead_lettered=True)]


def lose(state: Task, policy: RetryPolicy, now: datetime) -> list[TaskEvent]:
    """The agent holding the task was declared lost: its attempt ends (a late report from it is fenced off)."""
    if state.status not in HOLDS_SLOT:
        raise DomainError(f"task {state.id} is {state.status}: no agent holds it")
    if state.cancel_requested_at is not None:
        return cancel(state)
    failure = Failure(reason=AGENT_LOST, agent_id=state.agent_id,
                      error=f"agent {state.agent_id} was lost (no heartbeat) while it held attempt {state.attempt}")
    return end_attempt(state, failure, policy, now, 0.0)


def request_retry(state: Task) -> list[TaskEvent]:
    """A client's re-submission of a task that failed or timed out: it runs again with a fresh retry budget."""
    if state.status not in (TaskStatus.FAILED, TaskStatus.TIMED_OUT):
        raise DomainError(f"task {state.id} is {state.status}: only a failed or timed-out task can be retried")
    return [TaskRetryRequested()]


def reject_report(agent_id: str, attempt: int, report: str, reason: str) -> list[TaskEvent]:
    return [TaskReportRejected(agent_id=agent_id, attempt=attempt, report=report, reason=reason)]


def is_terminal(state: Task) -> bool:
    return state.status in TERMINAL


