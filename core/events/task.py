"""Task events (v1). Evolve only by adding fields with defaults; a breaking change is a new tag."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from core.events.envelope import EventData


class TaskEventData(EventData, frozen=True, kw_only=True):
    AGGREGATE = "task"


class TaskCreated(TaskEventData, frozen=True, kw_only=True):
    TYPE = "task.created.v1"
    title: str
    description: str = ""
    prompt: str = ""
    capabilities: list[str] = []
    model: str | None = None
    priority: int = 0
    payload: dict[str, Any] = {}
    depends_on: list[str] = []
    # Runs allowed before the task fails for good (retryable failures and timeouts count); the gateway writes
    # HIVE_TASK_MAX_ATTEMPTS when the client sets none. The first retry's backoff (None: HIVE_RETRY_BACKOFF_S).
    max_attempts: int = 1
    retry_backoff_s: float | None = None
    timeout_s: float | None = None
    # Free VRAM (MiB, on one GPU) the task's model needs: placed only where that much is free or it is loaded.
    min_vram_mb: int | None = None
    idempotency_key: str | None = None
    # Digest of the creating request, so a reused Idempotency-Key with another body is refused.
    request_digest: str | None = None


class TaskQueued(TaskEventData, frozen=True, kw_only=True):
    TYPE = "task.queued.v1"
    attempt: int


class TaskAssigned(TaskEventData, frozen=True, kw_only=True):
    TYPE = "task.assigned.v1"
    agent_id: str
    attempt: int


class TaskStarted(TaskEventData, frozen=True, kw_only=True):
    TYPE = "task.started.v1"
    agent_id: str
    attempt: int
    # When the agent says its executor started (its clock); absent when only the final report arrived.
    reported_at: datetime | None = None


class TaskResult(msgspec.Struct, frozen=True, kw_only=True):
    output: str = ""
    exit_code: int | None = None
    metrics: dict[str, float] = {}


class TaskCompleted(TaskEventData, frozen=True, kw_only=True):
    TYPE = "task.completed.v1"
    agent_id: str
    attempt: int
    result: TaskResult


class TaskFailed(TaskEventData, frozen=True, kw_only=True):
    TYPE = "task.failed.v1"
    agent_id: str | None = None
    attempt: int
    error: str
    # executor_error, dependency_failed, agent_lost (its agents kept being lost: a poison task)
    reason: str = "executor_error"
    retryable: bool = False
    exit_code: int | None = None
    output: str = ""
    # Failed for good after running (no retry left, or not retryable): listed as a dead letter, re-submittable.
    dead_lettered: bool = False


class TaskRetryScheduled(TaskEventData, frozen=True, kw_only=True):
    """An attempt failed (executor error, timeout, lost agent) and the retry policy allows another: the task is
    queued again as `next_attempt`, placeable from `not_before` (the backoff)."""

    TYPE = "task.retry_scheduled.v1"
    attempt: int
    next_attempt: int
    agent_id: str | None = None
    # executor_error, timed_out or agent_lost
    reason: str
    error: str
    exit_code: int | None = None
    output: str = ""
    not_before: datetime


class TaskTimedOut(TaskEventData, frozen=True, kw_only=True):
    """The last allowed attempt ran past the task's timeout and was stopped: the task ends `timed_out`."""

    TYPE = "task.timed_out.v1"
    attempt: int
    agent_id: str | None = None
    error: str
    output: str = ""
    exit_code: int | None = None
    dead_lettered: bool = True


class TaskRetryRequested(TaskEventData, frozen=True, kw_only=True):
    """A client re-submitted a failed or timed-out task (the envelope's actor says who): it runs again as a new
    attempt with a fresh retry budget."""

    TYPE = "task.retry_requested.v1"


class TaskReportRejected(TaskEventData, frozen=True, kw_only=True):
    """A report that did not match the current assignment (fencing); recorded, never applied."""

    TYPE = "task.report_rejected.v1"
    agent_id: str
    attempt: int
    report: str
    reason: str


class TaskCancelRequested(TaskEventData, frozen=True, kw_only=True):
    """A client asked to cancel the task (the envelope's actor says who); the coordinator carries it out."""

    TYPE = "task.cancel_requested.v1"


class TaskCancelled(TaskEventData, frozen=True, kw_only=True):
    """The task ended because a cancel was requested: before it ran, or stopped on `agent_id`."""

    TYPE = "task.cancelled.v1"
    attempt: int
    agent_id: str | None = None
    reason: str = ""
    # What the run had printed when it was stopped, if it ran.
    output: str = ""
    exit_code: int | None = None


class TaskPinned(TaskEventData, frozen=True, kw_only=True):
    """An admin pinned the task to one agent: it is placed there only, waiting in the queue until it can be."""

    TYPE = "task.pinned.v1"
    agent_id: str


TaskEvent = (
    TaskCreated | TaskQueued | TaskAssigned | TaskStarted | TaskCompleted | TaskFailed | TaskReportRejected
    | TaskCancelRequested | TaskCancelled | TaskPinned | TaskRetryScheduled | TaskTimedOut | TaskRetryRequested
)

TASK_EVENTS: tuple[type[TaskEventData], ...] = (
    TaskCreated,
    TaskQueued,
    TaskAssigned,
    TaskStarted,
    TaskCompleted,
    TaskFailed,
    TaskReportRejected,
    TaskCancelRequested,
    TaskCancelled,
    TaskPinned,
    TaskRetryScheduled,
    TaskTimedOut,
    TaskRetryRequested,
)
