"""`hive projections` started while PostgreSQL is down waits for it (it used to exit at once), then projects;
a stop while it waits ends it cleanly; a database that does not exist is an error at once, not a wait."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import asyncpg
import msgspec
import pytest

from core.dev.embedded_postgres import EmbeddedPostgres
from core.events.task import TaskCreated
from core.settings import Settings
from core.store.connect import connect
from core.store.event_store import EventStore
from projections.db import wait_for_postgres
from projections.service import run_projections
from tests.helpers import wait_until
from tests.integration.own_postgres import own_postgres
from tests.integration.test_projection_lifecycle import append
from tests.integration.test_projection_recovery import stored_checkpoint


@pytest.fixture
def stopped_postgres() -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL of the test's own, initialised, then stopped."""
    with own_postgres() as server:
        server.stop()
        yield server


async def test_started_while_postgres_is_down_it_waits_then_projects(
        settings: Settings, stopped_postgres: EmbeddedPostgres, caplog: pytest.LogCaptureFixture) -> None:
    own = msgspec.structs.replace(settings, database_url=stopped_postgres.url)
    nc, js = await connect(own, "test")
    seq = await append(EventStore(nc, js, own), "task-1", [TaskCreated(title="while down")])
    stop = asyncio.Event()
    service = asyncio.create_task(run_projections(own, stop))
    try:
        await wait_until(lambda: "waiting for PostgreSQL" in caplog.text, what="the service waiting")
        assert not service.done()
        stopped_postgres.start()
        await wait_until(lambda: checkpoint_at_least(own, seq), timeout=30, what="the event projected")
    finally:
        stop.set()
        await asyncio.wait_for(service, 30)
        await nc.close()


async def test_a_stop_ends_the_wait(settings: Settings, stopped_postgres: EmbeddedPostgres,
                                    caplog: pytest.LogCaptureFixture) -> None:
    own = msgspec.structs.replace(settings, database_url=stopped_postgres.url)
    stop = asyncio.Event()
    waiting = asyncio.create_task(wait_for_postgres(own, stop))
    await wait_until(lambda: "waiting for PostgreSQL" in caplog.text, what="a first attempt refused")
    stop.set()
    assert await asyncio.wait_for(waiting, 10) is False


async def test_a_missing_database_is_an_error_not_a_wait(settings: Settings) -> None:
    base = settings.database_url.rsplit("/", 1)[0]
    own = msgspec.structs.replace(settings, database_url=f"{base}/no_such_database_here")
    with pytest.raises(asyncpg.InvalidCatalogNameError):
        await asyncio.wait_for(wait_for_postgres(own, asyncio.Event()), 10)


async def checkpoint_at_least(settings: Settings, seq: int) -> bool:
    try:
        return await stored_checkpoint(settings) >= seq
    except (OSError, asyncpg.PostgresError):
        return False

