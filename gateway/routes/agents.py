"""/api/agents: the fleet as the agents read model shows it."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.params import FromPath

from gateway import readmodel
from gateway.auth import needs
from gateway.cursor import IdCursor, decode_cursor, encode_cursor
from gateway.errors import NotFound, invalid
from gateway.permissions import Permission
from gateway.query import limit_of
from gateway.schemas import AgentPage, AgentView
from gateway.services import ServicesDep

_STATUS_MAX = 64


@get("/agents", opt=needs(Permission.AGENTS_VIEW))
async def list_agents(request: Request[Any, Any, Any], services: ServicesDep) -> AgentPage:
    """Ordered by id; filter by `status`; pass `next_cursor` back as `cursor` for the next page."""
    limit = limit_of(request)
    # Agent statuses belong to the projector; any short value is a fair filter (unknown ones match nothing).
    status = request.query_params.get("status")
    if status is not None and len(status) > _STATUS_MAX:
        raise invalid("status", f"at most {_STATUS_MAX} characters")
    raw_cursor = request.query_params.get("cursor")
    after = decode_cursor(raw_cursor, IdCursor) if raw_cursor else None
    rows = await readmodel.list_agents(services.pool, limit=limit, status=status, after=after)
    items, more = rows[:limit], len(rows) > limit
    return AgentPage(items=items, next_cursor=encode_cursor(IdCursor(items[-1].id)) if more else None)


@get("/agents/{agent_id:str}", opt=needs(Permission.AGENTS_VIEW))
async def get_agent(agent_id: FromPath[str], services: ServicesDep) -> AgentView:
    view = await readmodel.get_agent(services.pool, agent_id)
    if view is None:
        raise NotFound(f"no agent with id {agent_id!r}")
    return view
