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
    max_attempts: int = 1
    timeout_s: float | None = None
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
    reason: str = "executor_error"
    retryable: bool = False
    exit_code: int | None = None
    output: str = ""


class TaskReportRejected(TaskEventData, frozen=True, kw_only=True):
    """A report that did not match the current assignment (fencing); recorded, never applied."""

    TYPE = "task.report_rejected.v1"
    agent_id: str
    attempt: int
    report: str
    reason: str


TaskEvent = TaskCreated | TaskQueued | TaskAssigned | TaskStarted | TaskCompleted | TaskFailed | TaskReportRejected

TASK_EVENTS: tuple[type[TaskEventData], ...] = (
    TaskCreated,
    TaskQueued,
    TaskAssigned,
    TaskStarted,
    TaskCompleted,
    TaskFailed,
    TaskReportRejected,
)
