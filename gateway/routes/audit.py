"""Audit reads: /api/audit (the whole log through the audit index) and the histories of agents and executions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import get
from litestar.params import FromPath, FromQuery, Parameter

from core.audit.reads import stored_data
from gateway.audit_queries import AuditFilter, find_events
from gateway.auth import needs
from gateway.cursor import SeqCursor, decode_cursor, page
from gateway.errors import invalid
from gateway.event_views import EventPage, check_subject_id, history_page
from gateway.openapi import Cursor, Limit, MinSeq, problems
from gateway.permissions import Permission
from gateway.query import DEFAULT_LIMIT
from gateway.services import ServicesDep

# Free-text filters compare for equality; PostgreSQL text cannot hold NUL, so none may be sent (a 400, not a 500).
Text = Annotated[str | None, Parameter(max_length=256, pattern=r"^[^\x00]+$")]
AggregateName = Annotated[str | None, Parameter(pattern=r"^[a-z_]{1,32}$",
                                                description="task, agent, workflow, execution or system")]
When = Annotated[datetime | None, Parameter(description="ISO 8601; without an offset it is UTC")]


class AuditEntry(msgspec.Struct, kw_only=True):
    """One event of the log: where it belongs (`aggregate`, `aggregate_id`), who caused it, and its stored
    `data` (null only if the log no longer holds the event)."""

    seq: int
    event_id: str
    type: str
    aggregate: str
    aggregate_id: str
    occurred_at: datetime
    actor: str
    correlation_id: str | None
    causation_id: str | None
    data: dict[str, Any] | None


class AuditPage(msgspec.Struct, kw_only=True):
    items: list[AuditEntry]
    next_cursor: str | None


def _utc(name: str, value: datetime | None) -> datetime | None:
    if value is None:
        return None
    try:
        return value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)
    except OverflowError as err:  # out of range once in UTC (year 1 with a positive offset)
        raise invalid(name, "a time between years 1 and 9999 in UTC") from err


@get("/audit", opt=needs(Permission.AUDIT_VIEW), responses=problems())
async def audit(services: ServicesDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None,
                aggregate: AggregateName = None, aggregate_id: Text = None, actor: Text = None,
                type: Text = None, since: When = None, until: When = None,
                order: FromQuery[Literal["desc", "asc"]] = "desc", min_seq: MinSeq = None) -> AuditPage:
    """Every event of the log, newest first (`order=asc`: oldest first), from the audit index; filters combine:
    `aggregate`, `aggregate_id`, `actor`, `type` (exact tag, e.g. `task.cancel_requested.v1`), `since` and
    `until` (occurred_at in [since, until)). Pass `next_cursor` back as `cursor` for the next page."""
    where = AuditFilter(aggregate=aggregate, aggregate_id=aggregate_id, actor=actor, type=type,
                        since=_utc("since", since), until=_utc("until", until))
    after = decode_cursor(cursor, SeqCursor).seq if cursor else None
    rows = await find_events(services.pool, where, newest_first=order == "desc", after=after, limit=limit)
    rows, next_cursor = page(rows, limit, lambda r: SeqCursor(r["seq"]))
    data = await stored_data(services.nc, services.settings, [r["seq"] for r in rows])
    items = [AuditEntry(**dict(r), data=data[r["seq"]]) for r in rows]
    return AuditPage(items=items, next_cursor=next_cursor)


@get("/agents/{agent_id:str}/events", opt=needs(Permission.AGENTS_VIEW), responses=problems(404))
async def agent_events(agent_id: FromPath[str], services: ServicesDep, limit: Limit = DEFAULT_LIMIT,
                       cursor: Cursor = None) -> EventPage:
    """The agent's history from the event log, oldest first: registrations, drains, deregistrations."""
    check_subject_id("agent", agent_id)
    return await history_page(services.store, "agent", agent_id, limit=limit, cursor=cursor)


@get("/executions/{execution_id:str}/events", opt=needs(Permission.EXECUTIONS_VIEW), responses=problems(404))
async def execution_events(execution_id: FromPath[str], services: ServicesDep, limit: Limit = DEFAULT_LIMIT,
                           cursor: Cursor = None) -> EventPage:
    """A workflow execution's history from the event log, oldest first: its start, each node's progress, its end."""
    check_subject_id("execution", execution_id)
    return await history_page(services.store, "execution", execution_id, limit=limit, cursor=cursor)
