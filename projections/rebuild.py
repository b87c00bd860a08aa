"""`hive projections rebuild`: replay the whole stream into a fresh schema beside the live one, then swap it in.

Concurrency with a running projection service: the swap transaction takes the live schema's projection
advisory lock, which every live batch also takes, so a swap never lands in the middle of a batch. The
live projector re-reads its checkpoint inside each batch transaction; after the swap it finds the
rebuilt schema's checkpoint instead of its own, abandons that batch and resumes from there (events
appended after the rebuild's last catch-up are then projected by it as usual).
"""

from __future__ import annotations

import asyncio
import secrets
import sys
import time

import asyncpg

from core.settings import Settings
from core.store.connect import connect
from projections.db import create_pool, projection_lock_key, quote_ident
from projections.migrate import apply_migrations
from projections.projector import Projector
from projections.service import PROJECTOR_SERVER_SETTINGS

# Stop catching up and swap once a round brings in no more than this many new events.
CATCH_UP_SMALL = 1000
MAX_CATCH_UP_ROUNDS = 5


class _Progress:
    """A progress bar on stderr (redrawn in place on a terminal; a line at most once a second otherwise):
    share of the stream replayed, seq reached, events/s and the time left at that rate."""

    WIDTH = 30

    def __init__(self) -> None:
        self.target = 0
        self.events = 0
        self._start = self._last_print = time.monotonic()
        self._tty = sys.stderr.isatty()

    def __call__(self, seq: int, n: int) -> None:
        self.events += n
        now = time.monotonic()
        if now - self._last_print >= (0.2 if self._tty else 1.0) or seq >= self.target:
            self._last_print = now
            print(self.line(seq), file=sys.stderr, end="\r" if self._tty and seq < self.target else "\n", flush=True)

    def line(self, seq: int) -> str:
        share = min(1.0, seq / self.target) if self.target else 1.0
        done = int(share * self.WIDTH)
        rate = self.rate()
        left = f", {max(0, self.target - seq) / rate:,.0f}s left" if rate > 0 and seq < self.target else ""
        return (f"rebuild: [{'#' * done}{'.' * (self.WIDTH - done)}] {share:6.1%} seq {seq:,}/{self.target:,}, "
                f"{rate:,.0f} events/s{left}")

    def rate(self) -> float:
        return self.events / max(time.monotonic() - self._start, 1e-9)


def new_schema_name(live: str) -> str:
    # PostgreSQL truncates identifiers at 63 bytes; keep the unique suffix whole.
    return f"{live[:45]}__rebuild_{secrets.token_hex(4)}"


async def _replay(settings: Settings, schema: str, progress: _Progress) -> int:
    nc, js = await connect(settings, "hive-projections-rebuild")
    pool = await create_pool(
        settings, schema=schema, min_size=1, max_size=2, server_settings=PROJECTOR_SERVER_SETTINGS
    )
    try:
        projector = Projector(settings, pool, nc, js, schema=schema, on_batch=progress)
        stop = asyncio.Event()
        for _ in range(MAX_CATCH_UP_ROUNDS):
            target = (await js.stream_info(settings.events_stream)).state.last_seq
            before, progress.target = projector.checkpoint, target
            if target > projector.checkpoint:
                await projector.run(stop, until_seq=target)
            if target - before <= CATCH_UP_SMALL:
                break
        return projector.checkpoint
    finally:
        await pool.close()
        await nc.drain()


async def swap_in(conn: asyncpg.Connection, live: str, fresh: str) -> None:
    """Atomically make `fresh` the schema named `live`, dropping the old one."""
    old = f"{live[:45]}__old_{secrets.token_hex(4)}"
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", projection_lock_key(live))
        exists = await conn.fetchval("SELECT 1 FROM pg_namespace WHERE nspname = $1", live)
        if exists:
            await conn.execute(f"ALTER SCHEMA {quote_ident(live)} RENAME TO {quote_ident(old)}")
        await conn.execute(f"ALTER SCHEMA {quote_ident(fresh)} RENAME TO {quote_ident(live)}")
        if exists:
            await conn.execute(f"DROP SCHEMA {quote_ident(old)} CASCADE")


async def analyze_tables(conn: asyncpg.Connection, schema: str) -> None:
    """Planner statistics for the replayed tables, so the schema swaps in ready for queries (autovacuum
    would gather them only some time after the swap)."""
    for table in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = $1", schema):
        await conn.execute(f"ANALYZE {quote_ident(schema)}.{quote_ident(table['tablename'])}")


async def rebuild(settings: Settings) -> None:
    """Rebuild every read model from sequence 1 and swap the result in for settings.db_schema."""
    live, fresh = settings.db_schema, new_schema_name(settings.db_schema)
    progress = _Progress()
    conn = await asyncpg.connect(settings.database_url)
    try:
        await apply_migrations(conn, fresh)
        print(f"rebuild: replaying {settings.events_stream} into {fresh}", file=sys.stderr, flush=True)
        try:
            seq = await _replay(settings, fresh, progress)
            await analyze_tables(conn, fresh)
            await swap_in(conn, live, fresh)
        except BaseException:
            await conn.execute(f"DROP SCHEMA IF EXISTS {quote_ident(fresh)} CASCADE")
            raise
        print(
            f"rebuild: done at seq {seq}, {progress.events:,} events at {progress.rate():,.0f} events/s; "
            f"{fresh} swapped in as {live}",
            file=sys.stderr, flush=True,
        )
    finally:
        await conn.close()
