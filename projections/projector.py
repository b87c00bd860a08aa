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
from projections.folding import Folder
from core.store.reader import ConsumerLost, StreamReader
from projections.rows import BatchChanges
from projections.writer import (
    CHECKPOINT_MOVED,
    begin_batch_sql,
    commit_batch_sql,
    read_checkpoint,
    write_changes,
)

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
    advisory lock and moves the stored checkpoint on only from what this projector last wrote: if it is
    anything else, the batch rolls back and reading restarts from the stored checkpoint. That is how a
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
        self._begin_sql = begin_batch_sql(projection_lock_key(self.schema))
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
                self.checkpoint + 1, configured_url=self._settings.nats_url, high_water=2 * self._batch_max,
                name="hive-projections-reader",
            )
            folder = Folder(reader, self.checkpoint, self._batch_max)
            reader_task = asyncio.create_task(reader.run())
            folder_task = asyncio.create_task(folder.run())
            stop_task = asyncio.create_task(stop.wait())
            # Either ends a waiting take(): on stop to drain, on a reader failure to surface it.
            reader_task.add_done_callback(lambda _: reader.close())
            stop_task.add_done_callback(lambda _: reader.close())
            try:
                while True:
                    batch = await folder.take()
                    if batch is None:
                        folder_task.result()  # re-raises a failure to fold
                        if reader_task.done() and not stop.is_set():
                            reader_task.result()  # re-raises why the reader stopped
                        return
                    await self._apply(conn, batch)
                    if until_seq is not None and self.checkpoint >= until_seq:
                        return
            finally:
                await cancel_and_wait(reader_task, folder_task, stop_task)

    async def _apply(self, conn: asyncpg.Connection, batch: BatchChanges) -> None:
        # Three round trips for a live batch: BEGIN with the lock, the rows, checkpoint with COMMIT.
        await conn.execute(self._begin_sql)
        try:
            await write_changes(conn, batch)
            await conn.execute(commit_batch_sql(self.name, self.checkpoint, batch.last_seq))
        except BaseException as err:
            if not conn.is_closed():
                with suppress(Exception):
                    await conn.execute("ROLLBACK")
            if isinstance(err, asyncpg.PostgresError) and err.sqlstate == CHECKPOINT_MOVED:
                raise CheckpointMoved(f"{err}; this projector is at {self.checkpoint}") from err
            raise
        self.checkpoint = batch.last_seq
        self.events_applied += batch.events
        if self._on_batch is not None:
            self._on_batch(batch.last_seq, batch.events)
