"""/api/alerts: alerts the coordinator raised and resolved, as the alerts read model shows them."""

from __future__ import annotations

from typing import Literal

from litestar import get
from litestar.params import FromQuery

from core.domain.alert_rules import Severity
from gateway.alert_queries import list_alerts as query_alerts
from gateway.auth import needs
from gateway.cursor import TimeCursor, decode_cursor, page
from gateway.openapi import Cursor, Limit, MinSeq, problems
from gateway.permissions import Permission
from gateway.query import DEFAULT_LIMIT
from gateway.schemas import AlertPage
from gateway.services import ServicesDep

AlertStatus = Literal["raised", "resolved"]


@get("/alerts", opt=needs(Permission.ALERTS_VIEW), responses=problems())
async def list_alerts(services: ServicesDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None,
                      status: FromQuery[AlertStatus | None] = None, severity: FromQuery[Severity | None] = None,
                      min_seq: MinSeq = None) -> AlertPage:
    """Newest raised first; filter by `status` (raised, resolved) and `severity` (info, warning, critical);
    pass `next_cursor` back as `cursor` for the next page."""
    after = decode_cursor(cursor, TimeCursor) if cursor else None
    rows = await query_alerts(services.pool, limit=limit, status=status, severity=severity, after=after)
    items, next_cursor = page(rows, limit, lambda r: TimeCursor(r.raised_at, r.id))
    return AlertPage(items=items, next_cursor=next_cursor)
