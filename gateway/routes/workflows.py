"""/api/workflows: n8n workflows (create, list, read, new version, delete) and starting an execution."""

from __future__ import annotations

import re
from typing import Any

from litestar import Request, Response, delete, get, post, put
from litestar.params import FromPath
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_202_ACCEPTED

from gateway import workflow_commands, workflow_queries
from gateway.as_of import AsOf, view_as_of
from gateway.auth import needs, principal_of
from gateway.cursor import TimeCursor, decode_cursor, page
from gateway.errors import NotFound, UnsupportedMediaType
from gateway.openapi import Cursor, Limit, MinSeq, problems
from gateway.permissions import Permission
from gateway.query import DEFAULT_LIMIT
from gateway.request_id import request_id_of
from gateway.schemas import UUID_PATTERN
from gateway.services import ServicesDep
from gateway.workflow_openapi import ExecuteOperation, WorkflowBodyOperation
from gateway.workflow_schemas import ExecutionView, WorkflowPage, WorkflowView
from gateway.workflow_views import workflow_view_from_history

_UUID = re.compile(UUID_PATTERN)


def check_json(request: Request[Any, Any, Any]) -> None:
    media = request.headers.get("content-type", "application/json").split(";", 1)[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise UnsupportedMediaType(f"send the body as application/json, not {media!r}")


def check_id(kind: str, value: str) -> None:
    # Ids name NATS subjects: only a well-formed one may reach the event store.
    if not _UUID.match(value):
        raise NotFound(f"no {kind} with id {value!r} ({kind} ids are lowercase UUIDs)")


@post("/workflows", opt=needs(Permission.WORKFLOWS_CREATE), status_code=HTTP_201_CREATED,
      operation_class=WorkflowBodyOperation, responses=problems(413, 415))
async def create_workflow(request: Request[Any, Any, Any], services: ServicesDep) -> WorkflowView:
    """Store an n8n workflow export as version 1. 400 names every node at fault: unsupported node types
    (all of them), cycles, connections to nodes that do not exist, missing required parameters."""
    check_json(request)
    return await workflow_commands.create_workflow(services, principal_of(request), await request.body(),
                                                   request_id_of(request))


@get("/workflows", opt=needs(Permission.WORKFLOWS_VIEW), responses=problems())
async def list_workflows(services: ServicesDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None,
                         min_seq: MinSeq = None) -> WorkflowPage:
    """Newest first, without deleted ones; pass `next_cursor` back as `cursor` for the next page."""
    after = decode_cursor(cursor, TimeCursor) if cursor else None
    rows = await workflow_queries.list_workflows(services.pool, limit=limit, after=after)
    items, next_cursor = page(rows, limit, lambda r: TimeCursor(r.created_at, r.id))
    return WorkflowPage(items=items, next_cursor=next_cursor)


@get("/workflows/{workflow_id:str}", opt=needs(Permission.WORKFLOWS_VIEW), responses=problems(404))
async def get_workflow(workflow_id: FromPath[str], services: ServicesDep, min_seq: MinSeq = None,
                       as_of: AsOf = None) -> WorkflowView:
    """The latest version, with its document; with `as_of`, the version current then (folded from the log)."""
    check_id("workflow", workflow_id)
    if as_of is not None:
        return await view_as_of(services.store, "workflow", workflow_id, as_of, workflow_view_from_history)
    view = await workflow_queries.get_workflow(services.pool, workflow_id)
    if view is None:
        view = workflow_view_from_history(await services.store.load("workflow", workflow_id))
    if view is None or view.deleted:
        raise NotFound(f"no workflow with id {workflow_id}")
    return view


@put("/workflows/{workflow_id:str}", opt=needs(Permission.WORKFLOWS_UPDATE), operation_class=WorkflowBodyOperation,
     status_code=HTTP_200_OK, responses=problems(404, 409, 413, 415))
async def update_workflow(request: Request[Any, Any, Any], workflow_id: FromPath[str],
                          services: ServicesDep) -> WorkflowView:
    """Store a new version; executions started before keep running the version they started with."""
    check_id("workflow", workflow_id)
    check_json(request)
    return await workflow_commands.update_workflow(services, principal_of(request), workflow_id,
                                                   await request.body(), request_id_of(request))


@delete("/workflows/{workflow_id:str}", opt=needs(Permission.WORKFLOWS_DELETE), status_code=HTTP_200_OK,
        responses=problems(404, 409))
async def delete_workflow(request: Request[Any, Any, Any], workflow_id: FromPath[str],
                          services: ServicesDep) -> WorkflowView:
    """Delete the workflow: it can no longer run; its executions stay readable."""
    check_id("workflow", workflow_id)
    return await workflow_commands.delete_workflow(services, principal_of(request), workflow_id,
                                                   request_id_of(request))


@post("/workflows/{workflow_id:str}/execute", opt=needs(Permission.EXECUTIONS_START), status_code=HTTP_202_ACCEPTED,
      operation_class=ExecuteOperation, responses=problems(404, 413, 415))
async def execute_workflow(request: Request[Any, Any, Any], workflow_id: FromPath[str],
                           services: ServicesDep) -> Response[ExecutionView]:
    """Run the latest version: 202 with the execution (`requested`); the coordinator runs it node by node.
    Follow it with GET /api/executions/{id} or the WebSocket topic `execution.<id>`."""
    check_id("workflow", workflow_id)
    check_json(request)
    view = await workflow_commands.execute_workflow(services, principal_of(request), workflow_id,
                                                    await request.body(), request_id_of(request))
    return Response(view, status_code=HTTP_202_ACCEPTED, headers={"Location": f"/api/executions/{view.id}"})
