"""The `hive projections` service: migrations at start, then the projector until stopped."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from core.settings import Settings
from core.store.connect import connect
from projections.db import create_pool
from projections.migrate import apply_migrations
from projections.projector import Projector

log = logging.getLogger(__name__)

# Commits need not wait for the WAL flush: a crash can only lose a tail of whole batches, rows and
# checkpoint together, and those are projected again from the stream (which is the source of truth).
PROJECTOR_SERVER_SETTINGS = {"synchronous_commit": "off"}


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
            try:
                yield projector
            finally:
                stop.set()
                with suppress(asyncio.CancelledError):
                    await task
        finally:
            await nc.drain()
    finally:
        await pool.close()


async def run_projections(settings: Settings, stop: asyncio.Event) -> None:
    """Entry point of `hive projections`: projects the events stream into the read models until `stop`."""
    async with running_projector(settings) as projector:
        log.info("projections running on schema %s", settings.db_schema)
        await stop.wait()
