"""/api/tasks: create, cancel and pin tasks (events), read tasks (the read model, the event log while it catches up)."""

from __future__ import annotations

import re
from typing import Any

from litestar import Request, Response, delete, get, post, put
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_202_ACCEPTED

from core.domain.task import TaskStatus
from gateway import commands, readmodel
from gateway.as_of import AsOf, view_as_of
from gateway.auth import needs, principal_of
from gateway.create_batch import create_batch
from gateway.create_task import create_task
from gateway.cursor import TimeCursor, decode_cursor, page
from gateway.errors import NotFound, UnsupportedMediaType
from gateway.event_views import EventPage, history_page
from gateway.permissions import Permission
from gateway.projected_task import ProjectedTaskMiddleware
from gateway.openapi import CreateTaskBatchOperation, CreateTaskOperation, Cursor, Limit, MinSeq, problems
from gateway.query import DEFAULT_LIMIT
from gateway.request_id import request_id_of
from gateway.schemas import BATCH_MAX_BODY_BYTES, UUID_PATTERN, AssignTask, TaskBatch, TaskPage, TaskView
from gateway.services import ServicesDep
from gateway.submit_task import SubmitTaskMiddleware, created_headers
from gateway.task_views import view_from_history

_UUID = re.compile(UUID_PATTERN)


def _check_json(request: Request[Any, Any, Any]) -> None:
    media = request.headers.get("content-type", "application/json").split(";", 1)[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise UnsupportedMediaType(f"send the task as application/json, not {media!r}")


# The middleware answers well-formed JSON requests; this handler answers every other shape (415, 413, ...).
@post("/tasks", opt=needs(Permission.TASKS_CREATE), status_code=HTTP_201_CREATED, middleware=[SubmitTaskMiddleware],
      operation_class=CreateTaskOperation, responses=problems(409, 413, 415))
async def post_task(request: Request[Any, Any, Any], services: ServicesDep) -> Response[TaskView]:
    """Create a task. With an Idempotency-Key, retries return the first task (200, Idempotent-Replayed)."""
    _check_json(request)
    created = await create_task(
        services,
        principal_of(request),
        await request.body(),
        request.headers.get("idempotency-key"),
        request_id_of(request),
    )
    status = HTTP_200_OK if created.replayed else HTTP_201_CREATED
    return Response(created.task, status_code=status, headers=created_headers(created))


@post("/tasks/batch", opt=needs(Permission.TASKS_CREATE), status_code=HTTP_201_CREATED,
      request_max_body_size=BATCH_MAX_BODY_BYTES, operation_class=CreateTaskBatchOperation,
      responses=problems(409, 413, 415))
async def post_task_batch(request: Request[Any, Any, Any], services: ServicesDep) -> Response[TaskBatch]:
    """Create up to 1,000 tasks, all or none. With an Idempotency-Key K, item i is keyed `K#i`."""
    _check_json(request)
    batch = await create_batch(
        services,
        principal_of(request),
        await request.body(),
        request.headers.get("idempotency-key"),
        request_id_of(request),
    )
    if batch.replayed:
        return Response(TaskBatch(items=batch.items), status_code=HTTP_200_OK, headers={"Idempotent-Replayed": "true"})
    return Response(TaskBatch(items=batch.items), status_code=HTTP_201_CREATED)


@get("/tasks", opt=needs(Permission.TASKS_VIEW), responses=problems())
async def list_tasks(services: ServicesDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None,
                     status: FromQuery[TaskStatus | None] = None, dead_lettered: FromQuery[bool | None] = None,
                     min_seq: MinSeq = None) -> TaskPage:
    """Newest first; pass `next_cursor` back as `cursor` for the next page; filter by `status`, and by
    `dead_lettered` (true: the tasks that failed for good, to inspect and retry)."""
    after = decode_cursor(cursor, TimeCursor) if cursor else None
    rows = await readmodel.list_tasks(services.pool, limit=limit, status=status, after=after,
                                      dead_lettered=dead_lettered)
    items, next_cursor = page(rows, limit, lambda r: TimeCursor(r.created_at, r.id))
    return TaskPage(items=items, next_cursor=next_cursor)


# The middleware answers tasks that are in the read model; this handler answers the rest.
@get("/tasks/{task_id:str}", opt=needs(Permission.TASKS_VIEW), middleware=[ProjectedTaskMiddleware],
     responses=problems(404))
async def get_task(task_id: FromPath[str], services: ServicesDep, min_seq: MinSeq = None,
                   as_of: AsOf = None) -> TaskView:
    """The task now (the read model, or the log while it catches up), or with `as_of` as it was then (the log)."""
    _check_task_id(task_id)
    if as_of is not None:
        return await view_as_of(services.store, "task", task_id, as_of, view_from_history)
    view = await services.tasks.get(task_id)
    if view is None:
        # Just created and not projected yet: the event log is the truth, so a caller reads its own write.
        view = view_from_history(await services.store.load("task", task_id))
    if view is None:
        raise NotFound(f"no task with id {task_id}")
    return view


@get("/tasks/{task_id:str}/events", opt=needs(Permission.TASKS_VIEW), responses=problems(404))
async def task_events(task_id: FromPath[str], services: ServicesDep, limit: Limit = DEFAULT_LIMIT,
                      cursor: Cursor = None) -> EventPage:
    """The task's history from the event log, oldest first: every event with its stream `seq` and actor."""
    _check_task_id(task_id)
    return await history_page(services.store, "task", task_id, limit=limit, cursor=cursor)


def _check_task_id(task_id: str) -> None:
    # Ids name NATS subjects, so only a well-formed one may reach the event store.
    if not _UUID.match(task_id):
        raise NotFound(f"no task with id {task_id!r} (task ids are lowercase UUIDs)")


@delete("/tasks/{task_id:str}", opt=needs(Permission.TASKS_CANCEL), status_code=HTTP_202_ACCEPTED,
        responses=problems(404, 409))
async def cancel_task(request: Request[Any, Any, Any], task_id: FromPath[str], services: ServicesDep) -> TaskView:
    """Cancel a task: 202 with the task and the `seq` of the request. A pending or queued task is cancelled at
    once; a running one is stopped on its agent, then ends `cancelled`. A task that already ended is a 409."""
    _check_task_id(task_id)
    return await commands.cancel_task(services, principal_of(request), task_id, request_id_of(request))


@post("/tasks/{task_id:str}/retry", opt=needs(Permission.TASKS_CREATE), status_code=HTTP_202_ACCEPTED,
      responses=problems(404, 409))
async def retry_task(request: Request[Any, Any, Any], task_id: FromPath[str], services: ServicesDep) -> TaskView:
    """Re-submit a task that failed or timed out (a dead letter): 202 with the task and the `seq` of the
    request; it runs again as a new attempt with a fresh retry budget. Any other state is a 409."""
    _check_task_id(task_id)
    return await commands.retry_task(services, principal_of(request), task_id, request_id_of(request))


@put("/tasks/{task_id:str}/assign", opt=needs(Permission.TASKS_ASSIGN), status_code=HTTP_202_ACCEPTED,
     responses=problems(404, 409))
async def assign_task(request: Request[Any, Any, Any], task_id: FromPath[str], data: JSONBody[AssignTask],
                      services: ServicesDep) -> TaskView:
    """Pin a pending or queued task to one agent: it runs there only, waiting in the queue for a free slot.
    409 when the task is already placed or ended, or the agent is unknown, offline, draining, or lacks a
    capability or the model the task needs."""
    _check_task_id(task_id)
    return await commands.pin_task(services, principal_of(request), task_id, data.agent_id, request_id_of(request))
