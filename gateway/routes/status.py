"""/api/status/cluster, /api/status/agents and /api/metrics/performance: figures computed from the read models."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

from litestar import get
from litestar.params import Parameter

from gateway import status_views
from gateway.auth import needs
from gateway.cursor import IdCursor, decode_cursor, page
from gateway.openapi import Cursor, Limit, MinSeq, problems
from gateway.permissions import Permission
from gateway.query import DEFAULT_LIMIT
from gateway.services import ServicesDep
from gateway.status_views import AgentStatusPage, ClusterStatus, Performance

log = logging.getLogger(__name__)

STREAM_INFO_TIMEOUT_S = 1.0
WINDOW_MIN_S, WINDOW_DEFAULT_S, WINDOW_MAX_S = 60, 3600, 7 * 24 * 3600
Window = Annotated[int, Parameter(ge=WINDOW_MIN_S, le=WINDOW_MAX_S, description="seconds back from now")]


@get("/status/cluster", opt=needs(Permission.STATUS_VIEW), responses=problems())
async def cluster(services: ServicesDep, min_seq: MinSeq = None) -> ClusterStatus:
    """Tasks and agents by state, slots in use, recent throughput, and the read models' lag behind the log."""
    try:
        stream_seq: int | None = await asyncio.wait_for(services.store.stream_last_seq(), STREAM_INFO_TIMEOUT_S)
    except Exception as err:  # the read models still answer; the lag is then unknown (null)
        log.warning("stream info unavailable for /api/status/cluster: %s", err)
        stream_seq = None
    return await status_views.cluster_status(services.pool, stream_seq=stream_seq)


@get("/status/agents", opt=needs(Permission.STATUS_VIEW), responses=problems())
async def agents(services: ServicesDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None,
                 min_seq: MinSeq = None) -> AgentStatusPage:
    """Per agent, ordered by id: running tasks, utilisation, and the last hour's outcomes and run time."""
    after = decode_cursor(cursor, IdCursor) if cursor else None
    rows = await status_views.agent_statuses(services.pool, limit=limit, after=after)
    items, next_cursor = page(rows, limit, lambda a: IdCursor(a.id))
    return AgentStatusPage(items=items, next_cursor=next_cursor)


@get("/metrics/performance", opt=needs(Permission.STATUS_VIEW), responses=problems())
async def performance(services: ServicesDep, window_s: Window = WINDOW_DEFAULT_S, min_seq: MinSeq = None) -> Performance:
    """Tasks that ended in the last `window_s` seconds (default 3600): outcomes, throughput, latency quantiles."""
    return await status_views.performance(services.pool, window_s=window_s)
