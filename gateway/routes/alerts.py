"""/api/alerts: alerts the coordinator raised and resolved, as the alerts read model shows them."""

from __future__ import annotations

from typing import Any

from litestar import Request, get

from core.domain.alert_rules import SEVERITIES
from gateway.alert_queries import list_alerts as query_alerts
from gateway.auth import needs
from gateway.cursor import TimeCursor, decode_cursor, encode_cursor
from gateway.permissions import Permission
from gateway.query import choice_of, limit_of
from gateway.schemas import AlertPage
from gateway.services import ServicesDep

_STATUSES = frozenset({"raised", "resolved"})
_SEVERITIES = frozenset(SEVERITIES)


@get("/alerts", opt=needs(Permission.ALERTS_VIEW))
async def list_alerts(request: Request[Any, Any, Any], services: ServicesDep) -> AlertPage:
    """Newest raised first; filter by `status` (raised, resolved) and `severity` (info, warning, critical);
    pass `next_cursor` back as `cursor` for the next page."""
    limit = limit_of(request)
    status = choice_of(request, "status", _STATUSES)
    severity = choice_of(request, "severity", _SEVERITIES)
    raw_cursor = request.query_params.get("cursor")
    after = decode_cursor(raw_cursor, TimeCursor) if raw_cursor else None
    rows = await query_alerts(services.pool, limit=limit, status=status, severity=severity, after=after)
    items, more = rows[:limit], len(rows) > limit
    next_cursor = encode_cursor(TimeCursor(items[-1].raised_at, items[-1].id)) if more else None
    return AlertPage(items=items, next_cursor=next_cursor)
