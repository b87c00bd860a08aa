"""/api/agents: the fleet as the agents read model shows it; draining one (an event)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.params import FromPath, Parameter
from litestar.status_codes import HTTP_202_ACCEPTED

from gateway import commands, readmodel
from gateway.as_of import AsOf, agent_view_from_history, view_as_of
from gateway.auth import needs, principal_of
from gateway.cursor import IdCursor, decode_cursor, page
from gateway.errors import NotFound
from gateway.event_views import check_subject_id
from gateway.openapi import Cursor, Limit, MinSeq, problems
from gateway.permissions import Permission
from gateway.query import DEFAULT_LIMIT
from gateway.request_id import request_id_of
from gateway.schemas import AgentPage, AgentView
from gateway.services import ServicesDep



# Agent statuses belong to the projector; any short value is a fair filter (unknown ones match nothing).
AgentStatusFilter = Annotated[str | None, Parameter(pattern=r"^[a-z_]{1,64}$", description="online, offline, ...")]


@get("/agents", opt=needs(Permission.AGENTS_VIEW), responses=problems())
async def list_agents(services: ServicesDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None,
                      status: AgentStatusFilter = None, min_seq: MinSeq = None) -> AgentPage:
    """Ordered by id; filter by `status`; pass `next_cursor` back as `cursor` for the next page."""
    after = decode_cursor(cursor, IdCursor) if cursor else None
    rows = await readmodel.list_agents(services.pool, limit=limit, status=status, after=after)
    items, next_cursor = page(rows, limit, lambda a: IdCursor(a.id))
    return AgentPage(items=items, next_cursor=next_cursor)


@get("/agents/{agent_id:str}", opt=needs(Permission.AGENTS_VIEW), responses=problems(404))
async def get_agent(agent_id: FromPath[str], services: ServicesDep, min_seq: MinSeq = None,
                    as_of: AsOf = None) -> AgentView:
    """The agent now (the read model), or with `as_of` as it was then (folded from the log)."""
    if as_of is not None:
        check_subject_id("agent", agent_id)
        return await view_as_of(services.store, "agent", agent_id, as_of, agent_view_from_history)
    # PostgreSQL text cannot hold NUL (asyncpg would fail the query): no agent has such an id.
    view = None if "\x00" in agent_id else await readmodel.get_agent(services.pool, agent_id)
    if view is None:
        raise NotFound(f"no agent with id {agent_id!r}")
    return view


@post("/agents/{agent_id:str}/drain", opt=needs(Permission.AGENTS_DRAIN), status_code=HTTP_202_ACCEPTED,
      responses=problems(404, 409))
async def drain_agent(request: Request[Any, Any, Any], agent_id: FromPath[str], services: ServicesDep) -> AgentView:
    """Drain an agent, as SIGTERM on its sidecar would: 202 with the agent, now `draining`, and the request's `seq`.
    It gets no new work, finishes what it runs (within its grace period), hands back the rest and deregisters
    (`offline`). 409 when it is offline already."""
    return await commands.drain_agent(services, principal_of(request), agent_id, request_id_of(request))
