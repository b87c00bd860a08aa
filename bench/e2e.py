"""End to end: no-op tasks submitted over HTTP until `completed` in the read model; throughput and latency."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from bench.stack import BenchStack
from core.tokens import issue_token


async def _submit(client: httpx.AsyncClient, n: int, concurrency: int, rate: float | None) -> list[str]:
    ids: list[str] = []
    sem = asyncio.Semaphore(concurrency)
    start = time.perf_counter()

    async def one(i: int) -> None:
        if rate is not None:
            # Paced: task i is due at i / rate seconds after the start.
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        async with sem:
            r = await client.post("/api/tasks", json={"title": "noop", "prompt": str(i), "capabilities": ["echo"]})
            r.raise_for_status()
            ids.append(r.json()["id"])

    await asyncio.gather(*(one(i) for i in range(n)))
    return ids


async def _wait_completed(conn: asyncpg.Connection, ids: list[str], timeout: float = 600) -> float:
    deadline = time.perf_counter() + timeout
    while True:
        done = await conn.fetchval("SELECT count(*) FROM tasks WHERE status = 'completed' AND id = ANY($1::text[])", ids)
        if done == len(ids):
            return time.perf_counter()
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{done}/{len(ids)} completed")
        await asyncio.sleep(0.02)


async def _latencies(conn: asyncpg.Connection, ids: list[str]) -> dict[str, float]:
    row = await conn.fetchrow(
        """SELECT
             percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - created_at)) AS d50,
             percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - created_at)) AS d99,
             percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - created_at)) AS c50,
             percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - created_at)) AS c99
           FROM tasks WHERE id = ANY($1::text[])""", ids)
    return {k: float(v) * 1000 for k, v in dict(row).items()}


async def run(n: int, paced_n: int, rate: float) -> dict[str, Any]:
    stack = BenchStack()
    settings = await stack.start()
    try:
        token = issue_token(settings.jwt_secret, role="developer", subject="bench", now=datetime.now(UTC),
                            ttl=timedelta(hours=2))
        conn = await asyncpg.connect(settings.database_url, server_settings={"search_path": settings.db_schema})
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        async with httpx.AsyncClient(base_url=stack.gateway_url, headers={"Authorization": f"Bearer {token}"},
                                     timeout=60, limits=limits) as client:
            await _wait_completed(conn, await _submit(client, 50, 16, None))  # warm-up
            t0 = time.perf_counter()
            ids = await _submit(client, n, 64, None)
            submitted = time.perf_counter()
            t1 = await _wait_completed(conn, ids)
            paced = await _submit(client, paced_n, 64, rate)
            await _wait_completed(conn, paced)
            lat = await _latencies(conn, paced)
        await conn.close()
        return {
            "e2e_tasks": n,
            "e2e_tasks_per_s": n / (t1 - t0),
            "e2e_submit_per_s": n / (submitted - t0),
            "paced_rate_per_s": rate,
            "dispatch_p50_ms": lat["d50"],
            "dispatch_p99_ms": lat["d99"],
            "complete_event_p50_ms": lat["c50"],
            "complete_event_p99_ms": lat["c99"],
        }
    finally:
        stack.stop()
