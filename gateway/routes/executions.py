"""/api/executions: workflow runs as the read model shows them (the event log while it catches up); cancel;
resume a waiting one."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, delete, get, post
from litestar.params import FromPath, Parameter
from litestar.status_codes import HTTP_202_ACCEPTED

from gateway import execution_resume, workflow_commands, workflow_queries
from gateway.as_of import AsOf, view_as_of
from gateway.auth import needs, principal_of
from gateway.cursor import TimeCursor, decode_cursor, page
from gateway.errors import NotFound
from gateway.openapi import Cursor, Limit, MinSeq, problems
from gateway.permissions import Permission
from gateway.query import DEFAULT_LIMIT
from gateway.request_id import request_id_of
from gateway.routes.workflows import check_id, check_json
from gateway.schemas import UUID_PATTERN
from gateway.services import ServicesDep
from gateway.workflow_openapi import ResumeOperation
from gateway.workflow_schemas import ExecutionPage, ExecutionView
from gateway.workflow_views import execution_view_from_history

StatusFilter = Annotated[str | None, Parameter(pattern=r"^[a-z_]{1,32}$",
                                               description="requested, running, waiting, completed, failed, "
                                                           "cancelled")]
WaitNode = Annotated[str | None, Parameter(max_length=200,
                                           description="the Wait node meant: a request for another is a 409")]
WorkflowFilter = Annotated[str | None, Parameter(pattern=UUID_PATTERN, description="only this workflow's runs")]


@get("/executions", opt=needs(Permission.EXECUTIONS_VIEW), responses=problems())
async def list_executions(services: ServicesDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None,
                          workflow_id: WorkflowFilter = None, status: StatusFilter = None,
                          min_seq: MinSeq = None) -> ExecutionPage:
    """Newest first (without their nodes); filter by `workflow_id` and `status`."""
    after = decode_cursor(cursor, TimeCursor) if cursor else None
    rows = await workflow_queries.list_executions(services.pool, limit=limit, after=after, workflow_id=workflow_id,
                                                  status=status)
    items, next_cursor = page(rows, limit, lambda r: TimeCursor(r.created_at, r.id))
    return ExecutionPage(items=items, next_cursor=next_cursor)


@get("/executions/{execution_id:str}", opt=needs(Permission.EXECUTIONS_VIEW), responses=problems(404))
async def get_execution(execution_id: FromPath[str], services: ServicesDep, min_seq: MinSeq = None,
                        as_of: AsOf = None) -> ExecutionView:
    """The execution with each node that started or ran: its status, task ids and output items; with `as_of`,
    as it was then (folded from the log)."""
    check_id("execution", execution_id)
    if as_of is not None:
        return await view_as_of(services.store, "execution", execution_id, as_of, execution_view_from_history)
    view = await workflow_queries.get_execution(services.pool, execution_id)
    if view is None:
        view = execution_view_from_history(await services.store.load("execution", execution_id))
    if view is None:
        raise NotFound(f"no execution with id {execution_id}")
    return view


@delete("/executions/{execution_id:str}", opt=needs(Permission.EXECUTIONS_CANCEL), status_code=HTTP_202_ACCEPTED,
        responses=problems(404, 409))
async def cancel_execution(request: Request[Any, Any, Any], execution_id: FromPath[str],
                           services: ServicesDep) -> ExecutionView:
    """Cancel: 202 with the `seq` of the request; the coordinator cancels the running tasks, then the execution
    ends `cancelled`. An execution that already ended is a 409."""
    check_id("execution", execution_id)
    return await workflow_commands.cancel_execution(services, principal_of(request), execution_id,
                                                    request_id_of(request))


@post("/executions/{execution_id:str}/resume", opt=needs(Permission.EXECUTIONS_START),
      status_code=HTTP_202_ACCEPTED, operation_class=ResumeOperation, responses=problems(404, 409, 413, 415))
async def resume_execution(request: Request[Any, Any, Any], execution_id: FromPath[str], services: ServicesDep,
                           node: WaitNode = None) -> Response[ExecutionView]:
    """Resume an execution waiting at a Wait node (`resume: webhook` or `form`; its `$execution.resumeUrl`):
    202 with the `seq` of `execution.resumed.v1`. For a webhook wait the node emits `{headers, params, query,
    body}` (the JSON posted here; credentials headers left out); for a form wait the body is an object of the
    form's fields by label, checked against them (400 naming the field). `node` names the wait meant, so a
    late request cannot resume a later wait. 409 when the execution does not wait for a resume (there)."""
    check_id("execution", execution_id)
    check_json(request)
    view = await execution_resume.resume_execution(
        services, principal_of(request), execution_id, node, await request.body(), request.headers,
        dict(request.query_params), request_id_of(request))
    return Response(view, status_code=HTTP_202_ACCEPTED)
