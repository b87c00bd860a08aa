"""End to end: no-op tasks submitted over HTTP until `completed` in the read model; throughput and latency.

Throughput: N tasks through `POST /api/tasks/batch`, clock stopped when the last is `completed` in
PostgreSQL. Latency: single `POST /api/tasks` paced at a steady rate; dispatch = the task's
`task.created.v1` (gateway accepted it) to its `task.started.v1` `reported_at` (the sidecar started the
executor), both read from the event log; completion = the 201 arriving at the client to the row being
seen `completed` by a poller of the read model.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import nats
import orjson

from bench.paced import post_json, run_paced
from bench.stack import BenchStack
from core.events.codec import decode_envelope
from core.events.task import TaskCreated, TaskStarted
from core.settings import Settings
from core.tokens import issue_token

BATCH = 500


def _task(i: int) -> dict[str, Any]:
    return {"title": "noop", "prompt": str(i), "capabilities": ["echo"]}


async def _submit_batches(client: httpx.AsyncClient, n: int, concurrency: int = 4) -> list[str]:
    ids: list[str] = []
    chunks = [range(s, min(s + BATCH, n)) for s in range(0, n, BATCH)]
    sem = asyncio.Semaphore(concurrency)

    async def one(chunk: range) -> None:
        async with sem:
            r = await client.post("/api/tasks/batch", json={"tasks": [_task(i) for i in chunk]})
            r.raise_for_status()
            ids.extend(item["id"] for item in r.json()["items"])

    await asyncio.gather(*(one(c) for c in chunks))
    return ids


async def _completed(pool: asyncpg.Pool, ids: list[str]) -> list[str]:
    """Which of `ids` the read model shows `completed`. Primary-key lookups only: with the status in the
    WHERE clause PostgreSQL ANDs a bitmap of every completed row, which grows with the run and would bill
    the benchmark's own polling to the system under test."""
    rows = await pool.fetch("SELECT id, status FROM tasks WHERE id = ANY($1::text[])", ids)
    return [row["id"] for row in rows if row["status"] == "completed"]


async def _wait_completed(pool: asyncpg.Pool, ids: list[str], timeout: float = 900,
                          window: int = 64) -> float:
    """When every task in `ids` is `completed` in the read model.

    Polls every 10 ms the first `window` tasks not yet seen completed, in submission order (tasks complete
    roughly in that order): each task is looked up a few times, the whole run's rows never are."""
    deadline = time.perf_counter() + timeout
    remaining = dict.fromkeys(ids)
    while remaining:
        head = list(itertools.islice(remaining, window))
        done = await _completed(pool, head)
        for task_id in done:
            del remaining[task_id]
        if len(done) < len(head):
            if time.perf_counter() > deadline:
                raise TimeoutError(f"{len(remaining)} of {len(ids)} not completed")
            await asyncio.sleep(0.01)
    return time.perf_counter()


class _CompletionWatch:
    """Polls the read model for accepted tasks and notes when each is first seen completed."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.accepted: dict[str, float] = {}
        self.seen: dict[str, float] = {}
        self.closing = False

    async def run(self) -> None:
        while not self.closing or len(self.seen) < len(self.accepted):
            waiting = [i for i in self.accepted if i not in self.seen]
            if waiting:
                done = await _completed(self.pool, waiting)
                now = time.perf_counter()
                for task_id in done:
                    self.seen[task_id] = now
            await asyncio.sleep(0.002)


async def _paced(url: str, token: str, watch: _CompletionWatch, n: int, rate: float) -> list[str]:
    ids: list[str] = []
    parsed = urlsplit(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 80

    def request(i: int) -> bytes:
        return post_json("/api/tasks", f"{host}:{port}", token, _task(i))

    def on_response(status: int, body: bytes, at: float) -> None:
        if status != 201:
            raise RuntimeError(f"POST /api/tasks answered {status}: {body[:200]!r}")
        task_id = orjson.loads(body)["id"]
        watch.accepted[task_id] = at
        ids.append(task_id)

    await run_paced(host, port, request, n, rate, on_response)
    return ids


async def _dispatch_latencies(settings: Settings, ids: set[str]) -> list[float]:
    """created.occurred_at -> started.reported_at per task, in ms, from the event log."""
    nc = await nats.connect(settings.nats_url)
    js = nc.jetstream()
    last = (await js.stream_info(settings.events_stream)).state.last_seq
    created: dict[str, datetime] = {}
    started: dict[str, datetime] = {}
    sub = await js.subscribe(f"{settings.prefix}.events.task.>", ordered_consumer=True,
                             pending_msgs_limit=-1, pending_bytes_limit=-1)
    async for msg in sub.messages:
        env = decode_envelope(msg.data)
        if env.aggregate_id in ids:
            if isinstance(env.data, TaskCreated):
                created[env.aggregate_id] = env.occurred_at
            elif isinstance(env.data, TaskStarted) and env.data.reported_at is not None:
                started[env.aggregate_id] = env.data.reported_at
        if msg.metadata.sequence.stream >= last:
            break
    await nc.close()
    return [(started[i] - created[i]).total_seconds() * 1000 for i in ids if i in started and i in created]


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000)[int(q * 1000) - 1] if len(values) > 1 else values[0]


async def run(quick: bool) -> dict[str, float]:
    n, rate, paced_s = (2000, 500.0, 4.0) if quick else (20_000, 500.0, 10.0)
    stack = BenchStack()
    settings = await stack.start()
    try:
        token = issue_token(settings.jwt_secret, role="developer", subject="bench", now=datetime.now(UTC),
                            ttl=timedelta(hours=2))
        pool = await asyncpg.create_pool(settings.database_url, min_size=1, max_size=2,
                                         server_settings={"search_path": settings.db_schema,
                                                          # A fresh table's statistics would make PostgreSQL
                                                          # scan it whole for each poll of a few ids.
                                                          "enable_seqscan": "off"})
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        async with httpx.AsyncClient(base_url=stack.gateway_url, headers={"Authorization": f"Bearer {token}"},
                                     timeout=120, limits=limits) as client:
            warmup = await _submit_batches(client, 1000)
            await _wait_completed(pool, warmup)
            cpu = stack.cpu_seconds()
            t0 = time.perf_counter()
            ids = await _submit_batches(client, n)
            submitted = time.perf_counter()
            t1 = await _wait_completed(pool, ids)
            cpu_per_task = {f"cpu_us_per_task_{name}": (used - cpu.get(name, 0.0)) / n * 1e6
                            for name, used in stack.cpu_seconds().items()}

            watch = _CompletionWatch(pool)
            watcher = asyncio.create_task(watch.run())
            paced = await _paced(stack.gateway_url, token, watch, int(rate * paced_s), rate)
            watch.closing = True
            await asyncio.wait_for(watcher, 120)
        await pool.close()
        dispatch = await _dispatch_latencies(settings, set(paced))
        complete = [(watch.seen[i] - watch.accepted[i]) * 1000 for i in paced]
        return {
            "e2e_tasks": n,
            "e2e_tasks_per_s": n / (t1 - t0),
            "e2e_submit_per_s": n / (submitted - t0),
            "paced_rate_per_s": rate,
            "dispatch_p50_ms": _pct(dispatch, 0.5),
            "dispatch_p99_ms": _pct(dispatch, 0.99),
            "complete_p50_ms": _pct(complete, 0.5),
            "complete_p99_ms": _pct(complete, 0.99),
            **cpu_per_task,
        }
    finally:
        stack.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.e2e")
    parser.add_argument("--quick", action="store_true")
    for key, value in asyncio.run(run(parser.parse_args().quick)).items():
        print(f"{key}: {value:,.2f}")


if __name__ == "__main__":
    main()
