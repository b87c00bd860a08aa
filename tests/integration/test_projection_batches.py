"""Big batches (COPY of new rows beside upserts of replayed ones) and the checkpoint guard of every batch."""

from __future__ import annotations

import asyncpg
import pytest

from core.events.task import TaskCreated, TaskQueued
from core.settings import Settings
from core.store.connect import connect
from core.store.event_store import EventStore
from projections import writer
from projections.db import create_pool
from projections.migrate import apply_migrations
from projections.projector import CheckpointMoved, Projector
from projections.rebuild import rebuild
from projections.rows import fold_batch
from projections.service import running_projector
from tests.helpers import wait_until
from tests.integration.test_projection_lifecycle import append_many_tasks, snapshot
from tests.unit.test_projection_fold import raw


async def test_replayed_and_new_rows_in_big_batches_match_a_rebuild(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    nc, js = await connect(settings, "test")
    store = EventStore(nc, js, settings)
    first = await append_many_tasks(store, 0, 150)
    async with running_projector(settings) as projector:
        await wait_until(lambda: projector.checkpoint >= first, what="first tasks projected")
    # Rewound while stopped, as after a crash between commit and a lost checkpoint: the restart folds
    # those tasks again (their rows exist: upserts) together with new ones (no rows yet: COPY).
    conn = await asyncpg.connect(settings.database_url)
    try:
        await conn.execute(f'UPDATE "{settings.db_schema}".projection_checkpoints SET seq = 0')
    finally:
        await conn.close()
    last = await append_many_tasks(store, 150, 150)
    monkeypatch.setattr(writer, "COPY_MIN_ROWS", 1)
    async with running_projector(settings) as projector:
        await wait_until(lambda: projector.checkpoint >= last, what="replay and new tasks projected")
    incremental = await snapshot(settings)
    assert len(incremental["tasks"]) == 300

    # The same history rebuilt from scratch, new rows written the other way (one INSERT of unnest()).
    monkeypatch.setattr(writer, "COPY_MIN_ROWS", 10**9)
    await rebuild(settings)
    assert await snapshot(settings) == incremental
    await nc.close()


async def test_a_batch_whose_checkpoint_moved_writes_nothing(settings: Settings) -> None:
    nc, js = await connect(settings, "test")
    pool = await create_pool(settings, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            await apply_migrations(conn, settings.db_schema)
            projector = Projector(settings, pool, nc, js)
            batch = fold_batch([raw(1, "t1", TaskCreated(title="x"))])
            projector.checkpoint = 5  # what another writer would leave: the stored one is 0 (none yet)
            with pytest.raises(CheckpointMoved):
                await projector._apply(conn, batch)
            assert await conn.fetchval("SELECT count(*) FROM tasks") == 0
            assert await conn.fetchval("SELECT count(*) FROM projection_checkpoints") == 0

            # Rolled back cleanly: the same connection goes on with the right expectation.
            projector.checkpoint = 0
            await projector._apply(conn, batch)
            assert await conn.fetchval("SELECT count(*) FROM tasks") == 1
            assert await conn.fetchval("SELECT seq FROM projection_checkpoints") == 1
            assert projector.checkpoint == 1
    finally:
        await pool.close()
        await nc.close()


async def test_projection_carries_on_when_its_consumer_is_deleted(settings: Settings) -> None:
    nc, js = await connect(settings, "test")
    store = EventStore(nc, js, settings)
    first = await append_many_tasks(store, 0, 20)
    async with running_projector(settings) as projector:
        await wait_until(lambda: projector.checkpoint >= first, what="first tasks projected")
        # An operator (or a server losing its state) removes the reader's consumer mid-pull.
        for info in await js.consumers_info(settings.events_stream):
            await js.delete_consumer(settings.events_stream, info.name)
        last = await append_many_tasks(store, 20, 20)
        await wait_until(lambda: projector.checkpoint >= last, what="projection after the consumer was deleted")
    assert len((await snapshot(settings))["tasks"]) == 40
    await nc.close()


async def test_new_rows_and_patches_of_one_batch_in_one_statement(settings: Settings) -> None:
    pool = await create_pool(settings, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            await apply_migrations(conn, settings.db_schema)
            async with conn.transaction():
                await writer.write_changes(conn, fold_batch([raw(1, "t1", TaskCreated(title="old"))]))
            batch = fold_batch([
                raw(2, "t2", TaskCreated(title="new")),
                raw(3, "t1", TaskQueued(attempt=1)),
                raw(4, "t2", TaskQueued(attempt=1)),
            ])
            assert [r.spec is None for r in batch.tasks.values()] == [False, True]
            async with conn.transaction():
                await writer.write_changes(conn, batch)
            rows = await conn.fetch("SELECT id, title, status, attempt, last_seq FROM tasks ORDER BY id")
            assert [tuple(r) for r in rows] == [("t1", "old", "queued", 1, 3), ("t2", "new", "queued", 1, 4)]
    finally:
        await pool.close()
