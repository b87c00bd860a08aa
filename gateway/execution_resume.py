"""Resuming a waiting execution (n8n's Wait node on webhook or form): check the request against the wait it
resumes, make the item the node will emit, and record `execution.resumed.v1`; the coordinator goes on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec

from core.coordinator.execution_limits import MAX_EVENT_BYTES
from core.domain import execution as execution_domain
from core.errors import DomainError
from core.events.envelope import EventData, Recorded
from core.workflows.model import parse_workflow
from core.workflows.node_wait import resumed_json
from core.workflows.wait_form import ResumeRejected
from gateway.auth import Principal
from gateway.commands import run_command
from gateway.create_task import json_depth
from gateway.errors import Conflict, NotFound, from_msgspec, invalid
from gateway.services import Services
from gateway.workflow_commands import DOCUMENT_MAX_DEPTH
from gateway.workflow_schemas import ExecutionView
from gateway.workflow_views import execution_view_from_history

# The query parameter naming the wait a request means; it is not part of the item's `query`.
NODE_PARAM = "node"
_encoder = msgspec.json.Encoder()


def parse_body(body: bytes) -> Any:
    """The posted JSON (an empty body is `{}`); a 400 at `$` when it is not JSON."""
    if not body.strip():
        return {}
    try:
        value = msgspec.json.decode(body)
    except msgspec.MsgspecError as err:
        raise from_msgspec(err) from err
    except RecursionError as err:
        raise invalid("$", "the body nests too deeply") from err
    if json_depth(value) > DOCUMENT_MAX_DEPTH:
        raise invalid("$", f"the body nests deeper than {DOCUMENT_MAX_DEPTH} levels")
    return value


async def resume_execution(services: Services, principal: Principal, execution_id: str, node: str | None,
                           body: bytes, headers: Mapping[str, str], query: Mapping[str, str],
                           request_id: str | None) -> ExecutionView:
    """Record the resume of the wait `node` names (or the one wait there is): 409 when the execution does not
    wait for a resume there (ended, running, resumed already), 400 naming the field when the body does not fit
    the node (a form's fields)."""
    value = parse_body(body)
    query = {k: v for k, v in query.items() if k != NODE_PARAM}

    def decide(history: list[Recorded[Any]]) -> Sequence[EventData]:
        state = execution_domain.fold([r.envelope for r in history])
        if state is None:
            raise NotFound(f"no execution with id {execution_id}")
        try:
            name, via = execution_domain.waiting_for_resume(state, node)
            wait = parse_workflow(state.document).node(name)
            data = resumed_json(wait, via, value, dict(headers), dict(query), datetime.now(UTC))
            events = execution_domain.request_resume(state, name, via, data)
        except DomainError as err:
            raise Conflict(str(err)) from err
        except ResumeRejected as err:
            raise invalid(err.field, err.message) from err
        size = len(_encoder.encode(events[0]))
        if size > MAX_EVENT_BYTES:
            raise invalid("$", f"the resume is {size} bytes; an event holds at most {MAX_EVENT_BYTES}")
        return events

    view = execution_view_from_history(await run_command(services, "execution", execution_id, decide, principal,
                                                      request_id))
    assert view is not None
    return view
