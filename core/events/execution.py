"""Execution events (v1): one run of a workflow version. The gateway requests it (and its cancel); the
coordinator records its progress node by node. Items are n8n's `{json, binary?}` plus Hive's `paired` lineage."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from core.events.envelope import EventData


class ExecutionEventData(EventData, frozen=True, kw_only=True):
    AGGREGATE = "execution"


class TriggerData(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """What the execution starts with: items for the trigger, or a webhook body, or a chat message."""

    items: list[dict[str, Any]] | None = None
    body: Any = None
    chat_input: str | None = None
    session_id: str | None = None


class ExecutionRequested(ExecutionEventData, frozen=True, kw_only=True):
    TYPE = "execution.requested.v1"
    workflow_id: str
    workflow_version: int
    # The version's document, so the execution is self-contained (a later update or delete changes nothing).
    document: dict[str, Any]
    # The trigger node to start from; None: the workflow's first trigger.
    trigger: str | None = None
    input: TriggerData = TriggerData()


class ExecutionStarted(ExecutionEventData, frozen=True, kw_only=True):
    TYPE = "execution.started.v1"
    trigger: str


class NodeStarted(ExecutionEventData, frozen=True, kw_only=True):
    """A node that runs on agents (its tasks, one per input item), waits (until `resume_at`, or a resume
    request when `resume` is set), or is computed inline by the coordinator (`builtin`: its node_completed or
    node_failed follows in the same decision)."""

    TYPE = "execution.node_started.v1"
    node: str
    # Left empty for a built-in: its inputs are its upstream nodes' outputs, already in the log.
    inputs: list[list[dict[str, Any]]] = []
    task_ids: list[str] = []
    item_indexes: list[int] = []
    # Items whose task could not be built, on a node that continues on failure: index (as text) -> error.
    prefailed: dict[str, str] = {}
    # A timed wait's time, or the time limit of a wait for a resume (None: no limit).
    resume_at: datetime | None = None
    # A wait resumed from outside (POST /api/executions/{id}/resume): "webhook" or "form".
    resume: str | None = None
    builtin: bool = False


class ExecutionResumed(ExecutionEventData, frozen=True, kw_only=True):
    """A caller resumed a wait (n8n's Wait node on webhook or form): `data` is the item the node emits."""

    TYPE = "execution.resumed.v1"
    node: str
    via: str  # "webhook" | "form"
    data: dict[str, Any]


class NodeCompleted(ExecutionEventData, frozen=True, kw_only=True):
    TYPE = "execution.node_completed.v1"
    node: str
    outputs: list[list[dict[str, Any]]]
    response: dict[str, Any] | None = None


class NodeFailed(ExecutionEventData, frozen=True, kw_only=True):
    TYPE = "execution.node_failed.v1"
    node: str
    error: str


class ExecutionCompleted(ExecutionEventData, frozen=True, kw_only=True):
    TYPE = "execution.completed.v1"
    # The items of the last node that ran, as n8n shows an execution's result, and a webhook response if any.
    result: list[dict[str, Any]] = []
    last_node: str | None = None
    response: dict[str, Any] | None = None


class ExecutionFailed(ExecutionEventData, frozen=True, kw_only=True):
    TYPE = "execution.failed.v1"
    error: str
    node: str | None = None


class ExecutionCancelRequested(ExecutionEventData, frozen=True, kw_only=True):
    TYPE = "execution.cancel_requested.v1"


class ExecutionCancelled(ExecutionEventData, frozen=True, kw_only=True):
    TYPE = "execution.cancelled.v1"
    reason: str = ""


ExecutionEvent = (
    ExecutionRequested | ExecutionStarted | NodeStarted | NodeCompleted | NodeFailed | ExecutionCompleted
    | ExecutionFailed | ExecutionCancelRequested | ExecutionCancelled | ExecutionResumed
)

EXECUTION_EVENTS: tuple[type[ExecutionEventData], ...] = (
    ExecutionRequested, ExecutionStarted, NodeStarted, NodeCompleted, NodeFailed, ExecutionCompleted,
    ExecutionFailed, ExecutionCancelRequested, ExecutionCancelled, ExecutionResumed,
)
