"""Workflow and execution commands: validate the n8n document, decide with the pure domain, append the events.

Each loads the aggregate's history from the event log (the truth, with its last sequence) and appends with
that sequence expected; the answer is the aggregate as of the new event, with its `seq`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec

from core.domain import execution as execution_domain
from core.domain import workflow as workflow_domain
from core.errors import DomainError
from core.events.envelope import EventData, Recorded, new_envelope
from core.events.execution import ExecutionRequested, TriggerData
from core.ids import uuid7
from core.tracing import request_headers
from core.workflows.errors import InvalidWorkflow
from core.workflows.model import parse_workflow
from core.workflows.validate import validate
from gateway.auth import Principal
from gateway.commands import run_command
from gateway.create_task import json_depth
from gateway.errors import Conflict, FieldError, InvalidInput, NotFound, from_msgspec, invalid
from gateway.services import Services
from gateway.workflow_schemas import ExecuteWorkflow, ExecutionView, WorkflowView
from gateway.workflow_views import execution_view_from_history, workflow_view_from_history

DOCUMENT_MAX_DEPTH = 64
NAME_MAX = 200
_execute_decoder = msgspec.json.Decoder(ExecuteWorkflow)


def parse_document(body: bytes) -> tuple[str, dict[str, Any]]:
    """(name, document) of an uploaded n8n export; a 400 naming each problem (and its node) otherwise."""
    if not body.strip():
        raise invalid("$", "the body is empty; send an n8n workflow export (nodes, connections)")
    try:
        document = msgspec.json.decode(body)
    except msgspec.MsgspecError as err:
        raise from_msgspec(err) from err
    except RecursionError as err:
        raise invalid("$", f"the document nests deeper than {DOCUMENT_MAX_DEPTH} levels") from err
    if not isinstance(document, dict):
        raise invalid("$", "send the workflow as a JSON object with `nodes` and `connections`")
    if json_depth(document) > DOCUMENT_MAX_DEPTH:
        raise invalid("$", f"the document nests deeper than {DOCUMENT_MAX_DEPTH} levels")
    name = document.get("name", "")
    if not isinstance(name, str) or len(name) > NAME_MAX:
        raise invalid("$.name", f"must be a string of at most {NAME_MAX} characters")
    try:
        validate(parse_workflow(document))
    except InvalidWorkflow as err:
        errors = [FieldError(p.field, p.message if p.node is None else f"node {p.node!r}: {p.message}")
                  for p in err.problems]
        raise InvalidInput(str(err), errors=errors) from err
    except RecursionError as err:
        raise invalid("$", "the document nests too deeply") from err
    return name or "workflow", document


def _or_conflict(decide: Any, *args: Any) -> Sequence[EventData]:
    try:
        events: Sequence[EventData] = decide(*args)
        return events
    except DomainError as err:
        raise Conflict(str(err)) from err


def _workflow_of(history: list[Recorded[Any]], workflow_id: str) -> workflow_domain.WorkflowState:
    state = workflow_domain.fold([r.envelope for r in history])
    if state is None or state.deleted:
        raise NotFound(f"no workflow with id {workflow_id}")
    return state


async def create_workflow(services: Services, principal: Principal, body: bytes, request_id: str | None) -> WorkflowView:
    name, document = parse_document(body)
    workflow_id = uuid7()
    envelope = new_envelope(workflow_domain.create(name, document)[0], event_id=uuid7(), aggregate_id=workflow_id,
                            occurred_at=datetime.now(UTC), actor=principal.subject, correlation_id=request_id)
    seq = await services.store.append([envelope], expected_seq=0, headers=request_headers())
    view = workflow_view_from_history([Recorded(seq=seq, envelope=envelope)])
    assert view is not None
    return view


async def update_workflow(services: Services, principal: Principal, workflow_id: str, body: bytes,
                          request_id: str | None) -> WorkflowView:
    name, document = parse_document(body)

    def decide(history: list[Recorded[Any]]) -> Sequence[EventData]:
        return _or_conflict(workflow_domain.update, _workflow_of(history, workflow_id), name, document)

    history = await run_command(services, "workflow", workflow_id, decide, principal, request_id)
    view = workflow_view_from_history(history)
    assert view is not None
    return view


async def delete_workflow(services: Services, principal: Principal, workflow_id: str,
                          request_id: str | None) -> WorkflowView:
    def decide(history: list[Recorded[Any]]) -> Sequence[EventData]:
        return _or_conflict(workflow_domain.delete, _workflow_of(history, workflow_id))

    history = await run_command(services, "workflow", workflow_id, decide, principal, request_id)
    view = workflow_view_from_history(history)
    assert view is not None
    return view


def parse_execute(body: bytes) -> ExecuteWorkflow:
    if not body.strip():
        return ExecuteWorkflow()
    try:
        return _execute_decoder.decode(body)
    except msgspec.MsgspecError as err:
        raise from_msgspec(err) from err
    except RecursionError as err:
        raise invalid("$", "the body nests too deeply") from err


async def execute_workflow(services: Services, principal: Principal, workflow_id: str, body: bytes,
                           request_id: str | None) -> ExecutionView:
    """Record the request to run the workflow's latest version; the coordinator runs it."""
    request = parse_execute(body)
    if request.items is not None and json_depth(request.items) > DOCUMENT_MAX_DEPTH:
        raise invalid("$.items", f"nests deeper than {DOCUMENT_MAX_DEPTH} levels")
    if json_depth(request.body) > DOCUMENT_MAX_DEPTH:
        raise invalid("$.body", f"nests deeper than {DOCUMENT_MAX_DEPTH} levels")
    state = _workflow_of(await services.store.load("workflow", workflow_id), workflow_id)
    graph = validate(parse_workflow(state.document))
    if request.trigger is not None and request.trigger not in graph.triggers:
        raise invalid("$.trigger", f"{request.trigger!r} is not a trigger node of this workflow "
                                   f"(its triggers: {', '.join(graph.triggers)})")
    event = ExecutionRequested(
        workflow_id=workflow_id, workflow_version=state.version, document=state.document, trigger=request.trigger,
        input=TriggerData(items=request.items, body=request.body, chat_input=request.chat_input,
                          session_id=request.session_id))
    execution_id = uuid7()
    envelope = new_envelope(event, event_id=uuid7(), aggregate_id=execution_id, occurred_at=datetime.now(UTC),
                            actor=principal.subject, correlation_id=request_id)
    seq = await services.store.append([envelope], expected_seq=0, headers=request_headers())
    view = execution_view_from_history([Recorded(seq=seq, envelope=envelope)])
    assert view is not None
    return view


async def cancel_execution(services: Services, principal: Principal, execution_id: str,
                           request_id: str | None) -> ExecutionView:
    """Record the cancel request (once); 409 when the execution already ended. The coordinator cancels its tasks."""

    def decide(history: list[Recorded[Any]]) -> Sequence[EventData]:
        state = execution_domain.fold([r.envelope for r in history])
        if state is None:
            raise NotFound(f"no execution with id {execution_id}")
        return _or_conflict(execution_domain.request_cancel, state)

    view = execution_view_from_history(await run_command(services, "execution", execution_id, decide, principal,
                                                      request_id))
    assert view is not None
    return view
