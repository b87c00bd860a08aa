"""/api/status/cluster, /api/status/agents and /api/metrics/performance: figures computed from the read models."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from litestar import Request, get

from gateway import status_views
from gateway.auth import needs
from gateway.cursor import IdCursor, decode_cursor, encode_cursor
from gateway.errors import invalid
from gateway.permissions import Permission
from gateway.query import limit_of
from gateway.services import ServicesDep
from gateway.status_views import AgentStatusPage, ClusterStatus, Performance

log = logging.getLogger(__name__)

STREAM_INFO_TIMEOUT_S = 1.0
WINDOW_MIN_S, WINDOW_DEFAULT_S, WINDOW_MAX_S = 60, 3600, 7 * 24 * 3600


@get("/status/cluster", opt=needs(Permission.STATUS_VIEW))
async def cluster(services: ServicesDep) -> ClusterStatus:
    """Tasks and agents by state, slots in use, recent throughput, and the read models' lag behind the log."""
    try:
        stream_seq: int | None = await asyncio.wait_for(services.store.stream_last_seq(), STREAM_INFO_TIMEOUT_S)
    except Exception as err:  # the read models still answer; the lag is then unknown (null)
        log.warning("stream info unavailable for /api/status/cluster: %s", err)
        stream_seq = None
    return await status_views.cluster_status(services.pool, stream_seq=stream_seq)


@get("/status/agents", opt=needs(Permission.STATUS_VIEW))
async def agents(request: Request[Any, Any, Any], services: ServicesDep) -> AgentStatusPage:
    """Per agent, ordered by id: running tasks, utilisation, and the last hour's outcomes and run time."""
    limit = limit_of(request)
    raw_cursor = request.query_params.get("cursor")
    after = decode_cursor(raw_cursor, IdCursor) if raw_cursor else None
    rows = await status_views.agent_statuses(services.pool, limit=limit, after=after)
    items, more = rows[:limit], len(rows) > limit
    return AgentStatusPage(items=items, next_cursor=encode_cursor(IdCursor(items[-1].id)) if more else None)


@get("/metrics/performance", opt=needs(Permission.STATUS_VIEW))
async def performance(request: Request[Any, Any, Any], services: ServicesDep) -> Performance:
    """Tasks that ended in the last `window_s` seconds (default 3600): outcomes, throughput, latency quantiles."""
    raw = request.query_params.get("window_s")
    window_s = WINDOW_DEFAULT_S
    if raw is not None:
        if not raw.isascii() or not raw.isdigit() or not WINDOW_MIN_S <= int(raw) <= WINDOW_MAX_S:
            raise invalid("window_s", f"must be an integer from {WINDOW_MIN_S} to {WINDOW_MAX_S} (seconds)")
        window_s = int(raw)
    return await status_views.performance(services.pool, window_s=window_s)
