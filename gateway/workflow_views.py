"""Workflow and execution views from their event history (the truth, when the read model has not caught up)."""

from __future__ import annotations

from typing import Any

from core.domain import execution as execution_domain
from core.domain import workflow as workflow_domain
from core.events.envelope import Recorded
from core.events.execution import NodeCompleted, NodeFailed, NodeStarted
from gateway.workflow_schemas import ExecutionNodeView, ExecutionView, WorkflowView


def workflow_view_from_history(history: list[Recorded[Any]]) -> WorkflowView | None:
    state = workflow_domain.fold([r.envelope for r in history])
    if state is None:
        return None
    return WorkflowView(id=state.id, name=state.name, version=state.version, deleted=state.deleted,
                        document=state.document, created_by=state.created_by, created_at=state.created_at,
                        updated_at=state.updated_at, seq=history[-1].seq)


def _nodes(history: list[Recorded[Any]]) -> list[ExecutionNodeView]:
    views: dict[str, ExecutionNodeView] = {}
    for rec in history:
        e, at = rec.envelope.data, rec.envelope.occurred_at
        if isinstance(e, NodeStarted):
            waits = e.resume_at is not None or e.resume is not None
            views[e.node] = ExecutionNodeView(node=e.node, status="waiting" if waits else "running",
                                              task_ids=list(e.task_ids), resume_at=e.resume_at, outputs=None,
                                              error=None, started_at=at, finished_at=None, resume=e.resume)
        elif isinstance(e, NodeCompleted | NodeFailed):
            view = views.get(e.node) or ExecutionNodeView(node=e.node, status="", task_ids=[], resume_at=None,
                                                          outputs=None, error=None, started_at=at, finished_at=None)
            view.finished_at = at
            if isinstance(e, NodeCompleted):
                view.status = "completed"
                view.outputs = [[{k: v for k, v in i.items() if k != "paired"} for i in out] for out in e.outputs]
            else:
                view.status, view.error = "failed", e.error
            views[e.node] = view
    return list(views.values())


def execution_view_from_history(history: list[Recorded[Any]]) -> ExecutionView | None:
    state = execution_domain.fold([r.envelope for r in history])
    if state is None:
        return None
    return ExecutionView(
        id=state.id, workflow_id=state.workflow_id, workflow_version=state.workflow_version,
        status=str(state.status), trigger=state.trigger, created_by=state.created_by, error=state.error,
        failed_node=state.failed_node, last_node=state.last_node,
        result=state.result if execution_domain.is_terminal(state) else None, response=state.response,
        created_at=state.created_at, updated_at=state.updated_at, started_at=state.started_at,
        finished_at=state.finished_at, cancel_requested_at=state.cancel_requested_at, seq=history[-1].seq,
        nodes=_nodes(history),
    )
