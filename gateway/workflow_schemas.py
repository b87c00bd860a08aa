"""Request and response bodies of /api/workflows and /api/executions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec

EXECUTE_MAX_ITEMS = 1000
NODE_NAME_MAX = 200
CHAT_INPUT_MAX = 256 * 1024


class ExecuteWorkflow(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """POST /api/workflows/{id}/execute: what the trigger node emits (all optional)."""

    # Items for the trigger (n8n's `[{json: {...}}]`, or bare objects); they replace the trigger's pinData.
    items: Annotated[list[dict[str, Any]], msgspec.Meta(max_length=EXECUTE_MAX_ITEMS)] | None = None
    # For a webhook trigger: the request body its item carries as `json.body`.
    body: Any = None
    # For a chat trigger: the message (`json.chatInput`) and the session id.
    chat_input: Annotated[str, msgspec.Meta(max_length=CHAT_INPUT_MAX)] | None = None
    session_id: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    # The trigger node to start from, when the workflow has several (default: the first).
    trigger: Annotated[str, msgspec.Meta(min_length=1, max_length=NODE_NAME_MAX)] | None = None


class WorkflowView(msgspec.Struct, kw_only=True):
    """A workflow's latest version; `seq` is the stream sequence of the latest event it reflects."""

    id: str
    name: str
    version: int
    deleted: bool
    document: dict[str, Any]
    created_by: str
    created_at: datetime
    updated_at: datetime
    seq: int


class WorkflowSummary(msgspec.Struct, kw_only=True):
    id: str
    name: str
    version: int
    node_count: int
    created_by: str
    created_at: datetime
    updated_at: datetime
    seq: int


class WorkflowPage(msgspec.Struct, kw_only=True):
    items: list[WorkflowSummary]
    next_cursor: str | None


class ExecutionNodeView(msgspec.Struct, kw_only=True):
    node: str
    status: str
    task_ids: list[str]
    # A wait's time, or the time limit of a wait for a resume request.
    resume_at: datetime | None
    # n8n's items per output: [[{"json": {...}}, ...], ...]
    outputs: list[list[dict[str, Any]]] | None
    error: str | None
    started_at: datetime
    finished_at: datetime | None
    # "webhook" or "form": the node waits for POST /api/executions/{id}/resume.
    resume: str | None = None


class ExecutionView(msgspec.Struct, kw_only=True):
    id: str
    workflow_id: str
    workflow_version: int
    status: str
    trigger: str | None
    created_by: str
    error: str | None
    failed_node: str | None
    last_node: str | None
    result: list[dict[str, Any]] | None
    response: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    cancel_requested_at: datetime | None
    seq: int
    # Each node that started or ran, in the order it did (GET /api/executions/{id} only; empty in lists).
    nodes: list[ExecutionNodeView] = []


class ExecutionPage(msgspec.Struct, kw_only=True):
    items: list[ExecutionView]
    next_cursor: str | None
