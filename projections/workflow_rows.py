"""The workflow, execution and execution-node rows a batch of events changes (folded in memory, like rows.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.events.execution import (
    ExecutionCancelled,
    ExecutionCancelRequested,
    ExecutionCompleted,
    ExecutionFailed,
    ExecutionRequested,
    ExecutionResumed,
    ExecutionStarted,
    NodeCompleted,
    NodeFailed,
    NodeStarted,
)
from core.events.workflow import WorkflowCreated, WorkflowDeleted, WorkflowUpdated


class WorkflowChange:
    """A workflow row: `created_at` set means a whole new row; otherwise a patch of the latest version."""

    __slots__ = ("id", "name", "version", "document", "deleted", "created_by", "created_at", "updated_at", "last_seq")

    def __init__(self, id: str, seq: int, at: datetime) -> None:
        self.id = id
        self.name: str | None = None
        self.version = 0
        self.document: dict[str, Any] | None = None
        self.deleted = False
        self.created_by = ""
        self.created_at: datetime | None = None
        self.updated_at = at
        self.last_seq = seq


class ExecutionChange:
    """An execution row: `requested` set means a whole new row; otherwise a patch (None: unchanged)."""

    __slots__ = ("id", "requested", "created_by", "created_at", "updated_at", "status", "trigger", "error",
                 "failed_node", "last_node", "result", "response", "started_at", "finished_at",
                 "cancel_requested_at", "last_seq")

    def __init__(self, id: str, seq: int, at: datetime) -> None:
        self.id = id
        self.requested: ExecutionRequested | None = None
        self.created_by = ""
        self.created_at: datetime | None = None
        self.updated_at = at
        self.status: str | None = None
        self.trigger: str | None = None
        self.error: str | None = None
        self.failed_node: str | None = None
        self.last_node: str | None = None
        self.result: list[dict[str, Any]] | None = None
        self.response: dict[str, Any] | None = None
        self.started_at: datetime | None = None
        self.finished_at: datetime | None = None
        self.cancel_requested_at: datetime | None = None
        self.last_seq = seq


class NodeChange:
    """A node of an execution; started and finished in one batch, or either (the row is upserted)."""

    __slots__ = ("execution_id", "node", "status", "task_ids", "resume_at", "resume", "outputs", "error",
                 "started_at", "finished_at", "last_seq")

    def __init__(self, execution_id: str, node: str, seq: int, at: datetime) -> None:
        self.execution_id = execution_id
        self.node = node
        self.status = "running"
        self.task_ids: list[str] | None = None
        self.resume_at: datetime | None = None
        self.resume: str | None = None
        self.outputs: list[list[dict[str, Any]]] | None = None
        self.error: str | None = None
        self.started_at = at
        self.finished_at: datetime | None = None
        self.last_seq = seq


class FlowChanges:
    def __init__(self) -> None:
        self.workflows: dict[str, WorkflowChange] = {}
        self.executions: dict[str, ExecutionChange] = {}
        self.nodes: dict[tuple[str, str], NodeChange] = {}

    def settle(self) -> list[str]:
        """Executions whose nodes moved: running or waiting follows from their node rows (see write_flows)."""
        return list(dict.fromkeys(execution_id for execution_id, _ in self.nodes))

    def __bool__(self) -> bool:
        return bool(self.workflows or self.executions or self.nodes)


def _workflow(ch: Any, seq: int, env: Any) -> WorkflowChange:
    flows: FlowChanges = ch.flows
    row = flows.workflows.get(env.aggregate_id)
    if row is None:
        row = flows.workflows[env.aggregate_id] = WorkflowChange(env.aggregate_id, seq, env.occurred_at)
    row.updated_at, row.last_seq = env.occurred_at, seq
    return row


def _workflow_created(ch: Any, seq: int, env: Any, e: WorkflowCreated) -> None:
    row = _workflow(ch, seq, env)
    row.name, row.version, row.document = e.name, e.version, e.document
    row.created_by, row.created_at = env.actor, env.occurred_at


def _workflow_updated(ch: Any, seq: int, env: Any, e: WorkflowUpdated) -> None:
    row = _workflow(ch, seq, env)
    row.name, row.version, row.document = e.name, e.version, e.document


def _workflow_deleted(ch: Any, seq: int, env: Any, e: WorkflowDeleted) -> None:
    row = _workflow(ch, seq, env)
    row.deleted, row.version = True, e.version


def _execution(ch: Any, seq: int, env: Any) -> ExecutionChange:
    flows: FlowChanges = ch.flows
    row = flows.executions.get(env.aggregate_id)
    if row is None:
        row = flows.executions[env.aggregate_id] = ExecutionChange(env.aggregate_id, seq, env.occurred_at)
    row.updated_at, row.last_seq = env.occurred_at, seq
    return row


def _requested(ch: Any, seq: int, env: Any, e: ExecutionRequested) -> None:
    row = _execution(ch, seq, env)
    row.requested, row.created_by, row.created_at, row.status = e, env.actor, env.occurred_at, "requested"


def _started(ch: Any, seq: int, env: Any, e: ExecutionStarted) -> None:
    row = _execution(ch, seq, env)
    row.status, row.trigger, row.started_at = "running", e.trigger, env.occurred_at


def _completed(ch: Any, seq: int, env: Any, e: ExecutionCompleted) -> None:
    row = _execution(ch, seq, env)
    row.status, row.finished_at, row.result, row.response, row.last_node = (
        "completed", env.occurred_at, e.result, e.response, e.last_node)


def _failed(ch: Any, seq: int, env: Any, e: ExecutionFailed) -> None:
    row = _execution(ch, seq, env)
    row.status, row.finished_at, row.error, row.failed_node = "failed", env.occurred_at, e.error, e.node


def _cancel_requested(ch: Any, seq: int, env: Any, e: ExecutionCancelRequested) -> None:
    _execution(ch, seq, env).cancel_requested_at = env.occurred_at


def _cancelled(ch: Any, seq: int, env: Any, e: ExecutionCancelled) -> None:
    row = _execution(ch, seq, env)
    row.status, row.finished_at, row.error = "cancelled", env.occurred_at, e.reason


def _node(ch: Any, seq: int, env: Any, name: str) -> NodeChange:
    _execution(ch, seq, env)  # the execution's updated_at and last_seq move with its nodes
    flows: FlowChanges = ch.flows
    key = (env.aggregate_id, name)
    row = flows.nodes.get(key)
    if row is None:
        row = flows.nodes[key] = NodeChange(env.aggregate_id, name, seq, env.occurred_at)
    row.last_seq = seq
    return row


def _plain(outputs: list[list[dict[str, Any]]]) -> list[list[dict[str, Any]]]:
    """Items as n8n shows them: the lineage Hive keeps for `$('Node').item` is left out."""
    return [[{k: v for k, v in item.items() if k != "paired"} for item in out] for out in outputs]


def _node_started(ch: Any, seq: int, env: Any, e: NodeStarted) -> None:
    row = _node(ch, seq, env, e.node)
    row.status = "waiting" if e.resume_at is not None or e.resume is not None else "running"
    row.task_ids, row.resume_at, row.resume, row.started_at = list(e.task_ids), e.resume_at, e.resume, env.occurred_at


def _resumed(ch: Any, seq: int, env: Any, e: ExecutionResumed) -> None:
    _execution(ch, seq, env)  # the node completes with the request's item in the coordinator's next event


def _node_completed(ch: Any, seq: int, env: Any, e: NodeCompleted) -> None:
    row = _node(ch, seq, env, e.node)
    row.status, row.outputs, row.finished_at = "completed", _plain(e.outputs), env.occurred_at


def _node_failed(ch: Any, seq: int, env: Any, e: NodeFailed) -> None:
    row = _node(ch, seq, env, e.node)
    row.status, row.error, row.finished_at = "failed", e.error, env.occurred_at


FLOW_HANDLERS: dict[str, Any] = {
    WorkflowCreated.TYPE: _workflow_created,
    WorkflowUpdated.TYPE: _workflow_updated,
    WorkflowDeleted.TYPE: _workflow_deleted,
    ExecutionRequested.TYPE: _requested,
    ExecutionStarted.TYPE: _started,
    NodeStarted.TYPE: _node_started,
    NodeCompleted.TYPE: _node_completed,
    NodeFailed.TYPE: _node_failed,
    ExecutionCompleted.TYPE: _completed,
    ExecutionFailed.TYPE: _failed,
    ExecutionCancelRequested.TYPE: _cancel_requested,
    ExecutionCancelled.TYPE: _cancelled,
    ExecutionResumed.TYPE: _resumed,
}
