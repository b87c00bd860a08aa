"""The read-model projector: stream batches folded in memory, written with their checkpoint in one transaction."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import suppress

import asyncpg
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from core.runtime import cancel_and_wait
from core.settings import Settings
from projections.db import projection_lock_key
from projections.reader import ConsumerLost, StreamReader
from projections.rows import fold_batch
from projections.writer import read_checkpoint, save_checkpoint, write_changes

log = logging.getLogger(__name__)

CHECKPOINT_NAME = "read_models"
# Up to this many events per transaction. Live, a batch is whatever arrived since the last one (a few
# events); while catching up or replaying, big batches fold most tasks' whole lives into one COPYed row.
BATCH_MAX = 10_000
MAX_BACKOFF_S = 5.0


class CheckpointMoved(Exception):
    """Someone else wrote this checkpoint (a rebuild swapped the schema in, or a second projector)."""


class Projector:
    """Projects the events stream into the read models of `schema` (default: settings.db_schema).

    `checkpoint` is the last stream sequence committed to PostgreSQL. Every batch takes the schema's
    advisory lock and re-reads the checkpoint inside its transaction: if it is not what this projector
    last wrote, the batch is abandoned and reading restarts from the stored checkpoint. That is how a
    rebuild's swap (which takes the same lock) and a second projector instance are both made harmless.
    """

    def __init__(
        self,
        settings: Settings,
        pool: asyncpg.Pool,
        nc: NATS,
        js: JetStreamContext,
        *,
        schema: str | None = None,
        name: str = CHECKPOINT_NAME,
        batch_max: int = BATCH_MAX,
        on_batch: Callable[[int, int], None] | None = None,
    ) -> None:
        self._settings, self._pool, self._nc, self._js = settings, pool, nc, js
        self.schema = schema or settings.db_schema
        self.name = name
        self._lock_key = projection_lock_key(self.schema)
        self._batch_max = batch_max
        self._on_batch = on_batch
        self.checkpoint = 0
        self.events_applied = 0

    async def run(self, stop: asyncio.Event, *, until_seq: int | None = None) -> None:
        """Project until `stop` is set (or, with `until_seq`, until that sequence is committed).

        Any NATS or PostgreSQL failure ends the current session; the next one resumes from the stored
        checkpoint after a growing pause, so reconnects and restarts of either server are survived."""
        backoff = 0.1
        while not stop.is_set():
            try:
                await self._session(stop, until_seq)
                return
            except (ConsumerLost, CheckpointMoved) as err:
                log.info("projection %s restarts from its checkpoint: %s", self.name, err)
                backoff = 0.0
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, asyncio.TimeoutError) as err:
                log.warning("projection %s interrupted: %r; retrying in %.1fs", self.name, err, backoff)
            except Exception:
                log.exception("projection %s failed; retrying in %.1fs", self.name, backoff)
            with suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), backoff)
            backoff = min(max(backoff * 2, 0.1), MAX_BACKOFF_S)

    async def _session(self, stop: asyncio.Event, until_seq: int | None) -> None:
        async with self._pool.acquire() as conn:
            self.checkpoint = await read_checkpoint(conn, self.name)
            if until_seq is not None and self.checkpoint >= until_seq:
                return
            reader = StreamReader(
                self._nc, self._js, self._settings.events_stream, f"{self._settings.prefix}.events.>",
                self.checkpoint + 1, high_water=2 * self._batch_max,
            )
            reader_task = asyncio.create_task(reader.run())
            stop_task = asyncio.create_task(stop.wait())
            # Either ends a waiting take(): on stop to drain, on a reader failure to surface it.
            reader_task.add_done_callback(lambda _: reader.close())
            stop_task.add_done_callback(lambda _: reader.close())
            try:
                while True:
                    batch = await reader.take(self._batch_max)
                    if not batch:
                        if reader_task.done() and not stop.is_set():
                            reader_task.result()  # re-raises why the reader stopped
                        return
                    await self._apply(conn, batch)
                    if until_seq is not None and self.checkpoint >= until_seq:
                        return
            finally:
                await cancel_and_wait(reader_task, stop_task)

    async def _apply(self, conn: asyncpg.Connection, batch: list[tuple[int, bytes]]) -> None:
        if batch[0][0] <= self.checkpoint:
            # Already applied (redelivery after a restart): a no-op.
            batch = [m for m in batch if m[0] > self.checkpoint]
            if not batch:
                return
        last = batch[-1][0]
        changes = fold_batch(batch)
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", self._lock_key)
            stored = await read_checkpoint(conn, self.name)
            if stored != self.checkpoint:
                raise CheckpointMoved(f"checkpoint is {stored}, this projector expected {self.checkpoint}")
            await write_changes(conn, changes)
            await save_checkpoint(conn, self.name, last)
        self.checkpoint = last
        self.events_applied += len(batch)
        if self._on_batch is not None:
            self._on_batch(last, len(batch))
