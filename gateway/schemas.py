"""Request and response bodies of the API, with their limits (msgspec validates; errors name the field)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec

# Limits (documented in the API): generous for real prompts, small enough that one request cannot hog a node.
MAX_BODY_BYTES = 1024 * 1024
BATCH_MAX_BODY_BYTES = 16 * 1024 * 1024
BATCH_MAX_ITEMS = 1000
TITLE_MAX = 200
DESCRIPTION_MAX = 10_000
PROMPT_MAX = 256 * 1024
MODEL_MAX = 200
CAPABILITY_MAX = 64
CAPABILITIES_MAX_ITEMS = 64
DEPENDS_ON_MAX_ITEMS = 100
PAYLOAD_MAX_DEPTH = 32
PRIORITY_MIN, PRIORITY_MAX = -100, 100
MAX_ATTEMPTS_MAX = 100
TIMEOUT_MAX_S = 7 * 24 * 3600.0
UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
CAPABILITY_PATTERN = r"^[a-z0-9_.-]+$"

TaskId = Annotated[str, msgspec.Meta(pattern=UUID_PATTERN, description="a task id (lowercase UUID)")]
Capability = Annotated[
    str, msgspec.Meta(min_length=1, max_length=CAPABILITY_MAX, pattern=CAPABILITY_PATTERN)
]


class CreateTask(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """POST /api/tasks. Unknown fields are refused so a typo never silently drops intent."""

    title: Annotated[str, msgspec.Meta(min_length=1, max_length=TITLE_MAX, examples=["Summarise the incident report"])]
    description: Annotated[str, msgspec.Meta(max_length=DESCRIPTION_MAX)] = ""
    prompt: Annotated[str, msgspec.Meta(max_length=PROMPT_MAX, examples=["Summarise in three bullet points: ..."])] = ""
    capabilities: Annotated[
        list[Capability], msgspec.Meta(max_length=CAPABILITIES_MAX_ITEMS, examples=[["llm.chat"]])
    ] = []
    model: Annotated[str, msgspec.Meta(min_length=1, max_length=MODEL_MAX, examples=["llama3.1:8b"])] | None = None
    priority: Annotated[int, msgspec.Meta(ge=PRIORITY_MIN, le=PRIORITY_MAX, examples=[5])] = 0
    payload: dict[str, Any] = {}
    depends_on: Annotated[list[TaskId], msgspec.Meta(max_length=DEPENDS_ON_MAX_ITEMS)] = []
    # Unset: HIVE_TASK_MAX_ATTEMPTS (3). Retryable failures and timeouts count; a lost agent does not.
    max_attempts: Annotated[int, msgspec.Meta(ge=1, le=MAX_ATTEMPTS_MAX, examples=[3])] | None = None
    # The first retry's backoff (doubling, capped at HIVE_RETRY_BACKOFF_MAX_S, with jitter); unset: HIVE_RETRY_BACKOFF_S.
    retry_backoff_s: Annotated[float, msgspec.Meta(ge=0, le=3600, examples=[2.0])] | None = None
    timeout_s: Annotated[float, msgspec.Meta(gt=0, le=TIMEOUT_MAX_S, examples=[600])] | None = None
    # Free VRAM (MiB, on one GPU) the model needs: placed only on an agent with that much free, or with the
    # model already loaded.
    min_vram_mb: Annotated[int, msgspec.Meta(ge=1, le=10_000_000, examples=[8000])] | None = None


class CreateTaskBatch(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """POST /api/tasks/batch: the tasks to create, all or none."""

    tasks: Annotated[list[CreateTask], msgspec.Meta(min_length=1, max_length=BATCH_MAX_ITEMS)]


AgentId = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{1,128}$", description="an agent id",
                                       examples=["gpu-01"])]


class AssignTask(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """PUT /api/tasks/{id}/assign: the only agent the task may run on."""

    agent_id: AgentId


class TaskView(msgspec.Struct, kw_only=True):
    """A task as the API shows it; `seq` is the stream sequence of the latest event it reflects."""

    id: str
    status: str
    title: str
    description: str
    prompt: str
    capabilities: list[str]
    model: str | None
    priority: int
    payload: dict[str, Any]
    depends_on: list[str]
    max_attempts: int
    timeout_s: float | None
    created_by: str
    assigned_agent_id: str | None
    attempt: int
    result: dict[str, Any] | None
    error: str | None
    created_at: datetime
    updated_at: datetime
    queued_at: datetime | None
    assigned_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    seq: int
    # The agent an admin pinned the task to, and when a cancel was requested (it ends `cancelled` soon after).
    pinned_agent_id: str | None = None
    cancel_requested_at: datetime | None = None
    # Retries: why the last attempt ended without a result (executor_error, timed_out, agent_lost,
    # dependency_failed), when a scheduled retry may run, and whether the task failed for good (a dead letter,
    # listed by `?dead_lettered=true` and re-submittable with POST /api/tasks/{id}/retry).
    failure_reason: str | None = None
    retry_at: datetime | None = None
    dead_lettered: bool = False


class TaskBatch(msgspec.Struct, kw_only=True):
    """The tasks of a batch, in the order they were sent."""

    items: list[TaskView]


class TaskPage(msgspec.Struct, kw_only=True):
    items: list[TaskView]
    next_cursor: str | None


class AgentView(msgspec.Struct, kw_only=True):
    id: str
    name: str
    session_id: str
    status: str
    capabilities: dict[str, float]
    models: list[str]
    max_concurrency: int
    executor: str
    hardware: dict[str, Any]
    registered_at: datetime
    updated_at: datetime
    seq: int
    # When it was declared lost (no heartbeat for HIVE_AGENT_LOST_AFTER_S), while it is.
    lost_at: datetime | None = None
    # Circuit breaker: closed; open (no placements until circuit_open_until, after circuit_failures failed runs
    # in a row); half_open (the cooldown ended: it takes work, the next failure opens it again).
    circuit: str = "closed"
    circuit_open_until: datetime | None = None
    circuit_failures: int = 0


class AgentPage(msgspec.Struct, kw_only=True):
    items: list[AgentView]
    next_cursor: str | None


class AlertView(msgspec.Struct, kw_only=True):
    """One alert instance: raised when `rule`'s measure crossed its threshold on `subject`, until resolved."""

    id: str
    rule: str
    subject: str
    severity: str
    status: str
    measure: str
    op: str
    threshold: float
    value: float
    message: str
    resolved_value: float | None
    resolved_message: str | None
    raised_at: datetime
    resolved_at: datetime | None
    seq: int


class AlertPage(msgspec.Struct, kw_only=True):
    items: list[AlertView]
    next_cursor: str | None


class Health(msgspec.Struct, kw_only=True):
    status: str
    checks: dict[str, str] = {}
