"""The execution aggregate: one run of a workflow version, folded from its events; its decisions turn the
engine's steps into events (pure: the coordinator's driver appends them)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, assert_never

import msgspec

from core.errors import DomainError
from core.events.envelope import Envelope
from core.events.execution import (
    ExecutionCancelled,
    ExecutionCancelRequested,
    ExecutionCompleted,
    ExecutionEvent,
    ExecutionFailed,
    ExecutionRequested,
    ExecutionResumed,
    ExecutionStarted,
    NodeCompleted,
    NodeFailed,
    NodeStarted,
    TriggerData,
)
from core.workflows.items import Item, Outputs
from core.workflows.node_misc import TriggerInput
from core.workflows.steps import CompleteNode, Finish, NodeRun, RunState, StartTasks, StartWait, Step


class ExecutionStatus(StrEnum):
    REQUESTED = "requested"
    RUNNING = "running"
    # Nothing runs: every node under way waits (for its time or a resume request).
    WAITING = "waiting"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL = frozenset({ExecutionStatus.COMPLETED, ExecutionStatus.FAILED, ExecutionStatus.CANCELLED})


class Execution(msgspec.Struct, kw_only=True):
    id: str
    workflow_id: str
    workflow_version: int
    document: dict[str, Any]
    requested_trigger: str | None
    input: TriggerData
    status: ExecutionStatus
    created_by: str
    created_at: datetime
    updated_at: datetime
    trigger: str | None = None
    nodes: dict[str, NodeRun] = {}
    started_at: datetime | None = None
    finished_at: datetime | None = None
    cancel_requested_at: datetime | None = None
    result: list[dict[str, Any]] = []
    last_node: str | None = None
    response: dict[str, Any] | None = None
    error: str | None = None
    failed_node: str | None = None


def to_items(rows: list[list[dict[str, Any]]]) -> Outputs:
    return msgspec.convert(rows, list[list[Item]])


def from_items(outputs: Outputs) -> list[list[dict[str, Any]]]:
    rows: list[list[dict[str, Any]]] = msgspec.to_builtins(outputs)
    return rows


def evolve(state: Execution | None, envelope: Envelope[Any]) -> Execution:
    event: ExecutionEvent = envelope.data
    at = envelope.occurred_at
    if state is None:
        if not isinstance(event, ExecutionRequested):
            raise DomainError(f"execution {envelope.aggregate_id}: history must start with execution.requested.v1")
        return Execution(id=envelope.aggregate_id, workflow_id=event.workflow_id,
                         workflow_version=event.workflow_version, document=event.document,
                         requested_trigger=event.trigger, input=event.input, status=ExecutionStatus.REQUESTED,
                         created_by=envelope.actor, created_at=at, updated_at=at)
    state.updated_at = at
    match event:
        case ExecutionRequested():
            raise DomainError(f"execution {state.id}: requested twice")
        case ExecutionStarted(trigger=trigger):
            state.status, state.trigger, state.started_at = ExecutionStatus.RUNNING, trigger, at
        case NodeStarted(builtin=True):
            pass  # computed in the same decision: its outcome follows, and a crash in between computes it again
        case NodeStarted():
            waits = event.resume_at is not None or event.resume is not None
            state.nodes[event.node] = NodeRun(
                status="waiting" if waits else "running", inputs=to_items(event.inputs),
                task_ids=list(event.task_ids), item_indexes=list(event.item_indexes),
                prefailed={int(k): v for k, v in event.prefailed.items()}, resume_at=event.resume_at,
                resume=event.resume)
            _settle(state)
        case ExecutionResumed(node=node, data=data):
            run = state.nodes.get(node)
            # Appended only against a history that waits there (expected sequence): anything else is a no-op.
            if run is not None and run.status == "waiting" and run.resume is not None and run.resumed is None:
                run.resumed = data
        case NodeCompleted(node=node, outputs=outputs, response=response):
            run = state.nodes.get(node) or NodeRun(status="completed")
            run.status, run.outputs, run.response = "completed", to_items(outputs), response
            state.nodes[node] = run
            _settle(state)
        case NodeFailed(node=node, error=error):
            run = state.nodes.get(node) or NodeRun(status="failed")
            run.status, run.error = "failed", error
            state.nodes[node] = run
            _settle(state)
        case ExecutionCompleted(result=result, last_node=last_node, response=response):
            state.status, state.finished_at = ExecutionStatus.COMPLETED, at
            state.result, state.last_node, state.response = result, last_node, response
        case ExecutionFailed(error=error, node=node):
            state.status, state.finished_at, state.error, state.failed_node = ExecutionStatus.FAILED, at, error, node
        case ExecutionCancelRequested():
            state.cancel_requested_at = at
        case ExecutionCancelled(reason=reason):
            state.status, state.finished_at, state.error = ExecutionStatus.CANCELLED, at, reason
        case _:
            assert_never(event)
    return state


def _settle(state: Execution) -> None:
    if state.status in (ExecutionStatus.RUNNING, ExecutionStatus.WAITING):
        busy = [r.status for r in state.nodes.values() if r.status in ("running", "waiting")]
        waiting = bool(busy) and all(b == "waiting" for b in busy)
        state.status = ExecutionStatus.WAITING if waiting else ExecutionStatus.RUNNING


def fold(envelopes: list[Envelope[Any]]) -> Execution | None:
    state: Execution | None = None
    for envelope in envelopes:
        state = evolve(state, envelope)
    return state


def is_terminal(state: Execution) -> bool:
    return state.status in TERMINAL


def trigger_input(data: TriggerData) -> TriggerInput:
    return TriggerInput(items=data.items, body=data.body, chat_input=data.chat_input, session_id=data.session_id)


def run_state(state: Execution, trigger: str, resume_url: str = "") -> RunState:
    """The engine's view of the execution (task results are added by whoever knows them)."""
    return RunState(trigger=trigger, trigger_input=trigger_input(state.input), nodes=state.nodes,
                    cancel_requested=state.cancel_requested_at is not None, execution_id=state.id,
                    workflow_id=state.workflow_id, resume_url=resume_url)


# Decisions.


def request_cancel(state: Execution) -> list[ExecutionEvent]:
    if is_terminal(state):
        raise DomainError(f"execution {state.id} already ended ({state.status}): there is nothing to cancel")
    if state.cancel_requested_at is not None:
        return []
    return [ExecutionCancelRequested()]


def waiting_for_resume(state: Execution, node: str | None) -> tuple[str, str]:
    """(node, "webhook" | "form") of the wait a resume request would resume; DomainError (a 409) saying why
    there is none. `node` names the wait the caller means, so a stale request cannot resume a later one."""
    if is_terminal(state):
        raise DomainError(f"execution {state.id} already ended ({state.status}): there is nothing to resume")
    waits = {name: run.resume for name, run in state.nodes.items()
             if run.status == "waiting" and run.resume is not None and run.resumed is None}
    if node is not None:
        if node not in waits:
            where = f"; it waits at {', '.join(map(repr, waits))}" if waits else ""
            raise DomainError(f"execution {state.id} is not waiting for a resume at node {node!r}{where}")
        return node, str(waits[node])
    if not waits:
        raise DomainError(f"execution {state.id} is not waiting for a resume (status {state.status})")
    if len(waits) > 1:
        raise DomainError(f"execution {state.id} waits at {', '.join(map(repr, waits))}: name one with ?node=")
    ((name, via),) = waits.items()
    return name, str(via)


def request_resume(state: Execution, node: str, via: str, data: dict[str, Any]) -> list[ExecutionEvent]:
    waiting_for_resume(state, node)
    return [ExecutionResumed(node=node, via=via, data=data)]


def step_events(step: Step, task_ids: list[str] | None = None) -> list[ExecutionEvent]:
    """The events that record one engine step (a StartTasks step needs the ids of the tasks it creates)."""
    if isinstance(step, CompleteNode):
        started: list[ExecutionEvent] = [NodeStarted(node=step.node, builtin=True)] if step.fresh else []
        if step.outcome.error is not None:
            return [*started, NodeFailed(node=step.node, error=step.outcome.error)]
        return [*started, NodeCompleted(node=step.node, outputs=from_items(step.outcome.outputs),
                                        response=step.outcome.response)]
    if isinstance(step, StartTasks):
        return [NodeStarted(node=step.node, inputs=from_items(step.inputs), task_ids=list(task_ids or []),
                            item_indexes=[r.item_index for r in step.requests],
                            prefailed={str(k): v for k, v in step.prefailed.items()})]
    if isinstance(step, StartWait):
        return [NodeStarted(node=step.node, inputs=from_items(step.inputs), resume_at=step.resume_at,
                            resume=step.resume)]
    if isinstance(step, Finish):
        if step.status == "completed":
            return [ExecutionCompleted(result=step.result or [], last_node=step.node, response=step.response)]
        if step.status == "cancelled":
            return [ExecutionCancelled(reason=step.error or "cancelled on request")]
        return [ExecutionFailed(error=step.error or "failed", node=step.node)]
    assert_never(step)
