"""A projection killed between (or inside) batches resumes with no row missing or doubled; replays are no-ops."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import asyncpg

from core.events.task import TaskCompleted, TaskResult
from core.settings import Settings
from core.store.connect import connect
from core.store.event_store import EventStore
from projections.service import running_projector
from tests.helpers import wait_until
from tests.integration.test_projection_lifecycle import append, append_many_tasks, snapshot

REPO = Path(__file__).resolve().parents[2]


def start_service(settings: Settings) -> subprocess.Popen[bytes]:
    env = dict(
        os.environ, HIVE_NATS_URL=settings.nats_url, HIVE_DATABASE_URL=settings.database_url,
        HIVE_PREFIX=settings.prefix, HIVE_DB_SCHEMA=settings.db_schema, HIVE_LOG_LEVEL="WARNING",
    )
    return subprocess.Popen([sys.executable, "-m", "core.cli", "projections"], cwd=REPO, env=env)


async def stored_checkpoint(settings: Settings) -> int:
    conn = await asyncpg.connect(settings.database_url)
    try:
        exists = await conn.fetchval("SELECT to_regclass($1)", f'"{settings.db_schema}".projection_checkpoints')
        if exists is None:
            return 0
        seq = await conn.fetchval(
            f'SELECT seq FROM "{settings.db_schema}".projection_checkpoints WHERE name = $1', "read_models"
        )
        return int(seq or 0)
    finally:
        await conn.close()


def expected_status(i: int) -> tuple[str, int]:
    return {0: ("completed", 1), 1: ("failed", 1), 2: ("queued", 2), 3: ("running", 1)}[i % 4]


async def test_killed_projection_resumes_without_missing_or_doubled_rows(settings: Settings) -> None:
    nc, js = await connect(settings, "test")
    store = EventStore(nc, js, settings)
    first_half, second_half = 1500, 500
    await append_many_tasks(store, 0, first_half)
    proc = start_service(settings)
    try:
        killed_at: int = await wait_until(lambda: stored_checkpoint(settings), timeout=60, what="first batch committed")
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # More history arrives while no projection runs, so the kill was certainly short of the end.
        last = await append_many_tasks(store, first_half, second_half)
        assert 0 < killed_at < last
        print(f"killed at checkpoint {killed_at} of {last}")
        proc = start_service(settings)
        _: bool = await wait_until(lambda: checkpoint_is(settings, last), timeout=60, what=f"checkpoint reaching {last}")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert proc.returncode == 0

    conn = await asyncpg.connect(settings.database_url)
    try:
        rows = await conn.fetch(f'SELECT id, status, attempt, last_seq FROM "{settings.db_schema}".tasks ORDER BY id')
        stats = await conn.fetchrow(f'SELECT count(*) AS n, count(DISTINCT id) AS d FROM "{settings.db_schema}".tasks')
    finally:
        await conn.close()
    total = first_half + second_half
    assert stats["n"] == stats["d"] == total
    assert [r["id"] for r in rows] == [f"task-{i:06d}" for i in range(total)]
    for i, row in enumerate(rows):
        assert (row["status"], row["attempt"]) == expected_status(i), row
    assert max(r["last_seq"] for r in rows) == last
    await nc.close()


async def checkpoint_is(settings: Settings, seq: int) -> bool:
    return await stored_checkpoint(settings) == seq


async def test_reapplying_applied_events_is_a_no_op(settings: Settings) -> None:
    nc, js = await connect(settings, "test")
    store = EventStore(nc, js, settings)
    last = await append_many_tasks(store, 0, 40)
    async with running_projector(settings) as projector:
        await wait_until(lambda: projector.checkpoint >= last, what="all projected")
        before = await snapshot(settings)
        # Rewind the stored checkpoint under the running projector, as a crash before a checkpoint
        # write or a swapped-in schema would: it must notice, replay from there and change nothing.
        conn = await asyncpg.connect(settings.database_url)
        try:
            await conn.execute(
                f'UPDATE "{settings.db_schema}".projection_checkpoints SET seq = 3 WHERE name = $1', "read_models"
            )
        finally:
            await conn.close()
        seq = await append(store, "task-000003", [
            TaskCompleted(agent_id="agent-3", attempt=1, result=TaskResult(output="late")),
        ])
        await wait_until(lambda: projector.checkpoint >= seq, what="replay and the new event projected")
    after = await snapshot(settings)
    changed = [(b, a) for b, a in zip(before["tasks"], after["tasks"]) if b != a]
    assert len(after["tasks"]) == len(before["tasks"])
    assert [a[0] for _, a in changed] == ["task-000003"]
    assert after["agents"] == before["agents"]
    assert after["checkpoints"] == [("read_models", seq)]
    await nc.close()
