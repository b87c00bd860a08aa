"""The `hive projections` service: migrations at start, then the projector until stopped."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from nats.js import JetStreamContext

from core.metrics import PROJECTION_CHECKPOINT, PROJECTION_LAG_EVENTS, serve_metrics
from core.runtime import cancel_and_wait
from core.settings import Settings
from core.store.checkpoints import publish_checkpoints
from core.store.connect import connect
from projections.db import create_pool, wait_for_postgres
from projections.migrate import apply_migrations
from projections.projector import Projector

log = logging.getLogger(__name__)

# Commits need not wait for the WAL flush: a crash can only lose a tail of whole batches, rows and
# checkpoint together, and those are projected again from the stream (which is the source of truth).
PROJECTOR_SERVER_SETTINGS = {"synchronous_commit": "off"}
LAG_INTERVAL_S = 2.0


@asynccontextmanager
async def running_projector(settings: Settings) -> AsyncIterator[Projector]:
    """Migrate, then run a projector in the background for the block (tests, `hive dev`); its
    `checkpoint` is the last committed sequence. Leaving the block stops it after its current batch."""
    pool = await create_pool(settings, min_size=1, max_size=4, server_settings=PROJECTOR_SERVER_SETTINGS)
    try:
        async with pool.acquire() as conn:
            applied = await apply_migrations(conn, settings.db_schema)
        if applied:
            log.info("read-model migrations applied to %s: %s", settings.db_schema, ", ".join(applied))
        nc, js = await connect(settings, "hive-projections")
        try:
            projector = Projector(settings, pool, nc, js)
            stop = asyncio.Event()
            task = asyncio.create_task(projector.run(stop))
            # Mirrored to NATS KV: the coordinator, which has no PostgreSQL, measures projection lag from it.
            mirror = asyncio.create_task(
                publish_checkpoints(js, settings, projector.name, lambda: projector.checkpoint))
            lag = asyncio.create_task(_measure_lag(js, settings, projector))
            try:
                yield projector
            finally:
                await cancel_and_wait(mirror, lag)
                stop.set()
                with suppress(asyncio.CancelledError):
                    await task
        finally:
            await nc.drain()
    finally:
        await pool.close()


async def run_projections(settings: Settings, stop: asyncio.Event) -> None:
    """Entry point of `hive projections`: projects the events stream into the read models until `stop`.
    Started while PostgreSQL is down (restarting, or not up yet), it waits for it rather than exiting."""
    serve_metrics(settings)
    if not await wait_for_postgres(settings, stop):
        return
    async with running_projector(settings) as projector:
        log.info("projections running on schema %s", settings.db_schema)
        await stop.wait()


async def _measure_lag(js: JetStreamContext, settings: Settings, projector: Projector) -> None:
    """hive_projection_lag_events: the stream's last sequence minus the committed checkpoint, every few seconds."""
    while True:
        with suppress(Exception):  # a NATS outage shows as a stale gauge; the projector logs the outage
            last = (await js.stream_info(settings.events_stream)).state.last_seq
            PROJECTION_LAG_EVENTS.labels(projector.name).set(max(0, last - projector.checkpoint))
            PROJECTION_CHECKPOINT.labels(projector.name).set(projector.checkpoint)
        await asyncio.sleep(LAG_INTERVAL_S)
