"""`hive projections rebuild` while clients keep reading through the gateway: every read answers, complete,
before, during and after the swap; the rebuilt read models equal the live ones, and the service goes on."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import httpx
import msgspec

from core.dev.ports import free_port
from core.events import new_envelope
from core.ids import uuid7
from core.settings import Settings
from core.store.connect import connect
from core.store.event_store import EventStore
from projections.service import running_projector
from tests.helpers import wait_until
from tests.integration.hive_cli import run_hive
from tests.integration.served import served
from tests.integration.test_gateway_support import auth
from tests.integration.test_projection_lifecycle import T0, lifecycle, snapshot
from tests.integration.test_projection_rebuild import schemas_like

TASKS = 3000


async def _append_tasks(store: EventStore, count: int, chunk: int = 500) -> int:
    """`count` task histories with UUID ids (the gateway's), their ends varied; the last seq written."""
    last = 0
    for start in range(0, count, chunk):
        batches = []
        for i in range(start, min(start + chunk, count)):
            task_id = uuid7()
            events = [new_envelope(e, event_id=uuid7(), aggregate_id=task_id, actor="user:bulk",
                                   occurred_at=T0 + timedelta(seconds=n)) for n, e in enumerate(lifecycle(i))]
            batches.append((events, 0))
        for result in await store.append_many(batches):
            assert isinstance(result, int), result
            last = max(last, result)
    return last


async def _reader(client: httpx.AsyncClient, settings: Settings, expected: dict[str, str], stop: asyncio.Event,
                  reads: list[tuple[float, float, str]], failures: list[str]) -> None:
    """Reads tasks one by one, full pages of the list and of the audit log, until `stop`; every answer checked."""
    headers = auth(settings, "viewer")
    ids = list(expected)
    i = 0
    while not stop.is_set():
        task_id = ids[i % len(ids)]
        i += 1
        probes: list[tuple[str, dict[str, str | int]]] = [
            (f"/api/tasks/{task_id}", {}), ("/api/tasks", {"limit": 100}),
            ("/api/audit", {"limit": 20, "aggregate_id": task_id})]
        for path, params in probes:
            started = time.monotonic()
            resp = await client.get(path, params=params, headers=headers)
            reads.append((started, time.monotonic(), path))
            body: Any = resp.json() if resp.status_code == 200 else None
            if resp.status_code != 200:
                failures.append(f"{path}: {resp.status_code} {resp.text[:200]}")
            elif path == "/api/tasks" and (len(body["items"]) != 100 or body["next_cursor"] is None):
                failures.append(f"{path}: a partial page ({len(body['items'])} items)")
            elif path.startswith("/api/tasks/") and body["status"] != expected[task_id]:
                failures.append(f"{path}: status {body['status']}, expected {expected[task_id]}")
            elif path == "/api/audit" and len(body["items"]) < 4:
                failures.append(f"{path}: {len(body['items'])} events of {task_id}")


async def test_rebuild_while_clients_read(settings: Settings) -> None:
    settings = msgspec.structs.replace(settings, gateway_port=free_port())
    nc, js = await connect(settings, "test-rebuild-reads")
    last = await _append_tasks(EventStore(nc, js, settings), TASKS)
    await nc.close()
    async with running_projector(settings) as projector, served(settings, asyncio.Event()) as (client, _):
        await wait_until(lambda: projector.checkpoint >= last, timeout=60, what="live projection caught up")
        before = await snapshot(settings)
        expected = {row[0]: row[12] for row in before["tasks"][::50]}  # (id, ..., status)
        stop = asyncio.Event()
        reads: list[tuple[float, float, str]] = []
        failures: list[str] = []
        readers = [asyncio.create_task(_reader(client, settings, expected, stop, reads, failures)) for _ in range(3)]
        try:
            await wait_until(lambda: len(reads) >= 30, what="reads under way")
            began = time.monotonic()
            status, _, err = await run_hive(settings, "projections", "rebuild", timeout=120)
            ended = time.monotonic()
            await wait_until(lambda: any(r[0] > ended for r in reads), what="reads after the rebuild")
        finally:
            stop.set()
            await asyncio.gather(*readers)
        assert status == 0, err
        lines = err.splitlines()
        assert any("] 100.0% seq" in line and f"/{last:,}" in line for line in lines), err
        assert lines[-1].startswith(f"rebuild: done at seq {last}") and "swapped in" in lines[-1], err
        during = [r for r in reads if r[0] >= began and r[1] <= ended]
        assert len(during) >= 20, f"only {len(during)} reads overlapped the rebuild"
        assert failures == [], failures[:5]
        assert await snapshot(settings) == before
        assert await schemas_like(settings) == [settings.db_schema]
