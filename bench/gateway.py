"""Gateway throughput and latency at 64 connections (bench.loadgen): POST /api/tasks, then GET /api/tasks/{id}
over tasks it created once they are projected, then POST /api/tasks/batch (4 connections, 500 tasks a batch).

The gateway runs as its own process with the projections service, on embedded NATS and PostgreSQL. Besides
req/s and latency, each phase reports the CPU time per request of every process involved (`*_cpu_us_*`),
which is steadier than req/s on a shared machine. `--profile DIR` records the gateway with py-spy.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import psutil

from bench.loadgen import LoadResult, build_request, run_in_process
from core.dev.embedded_nats import EmbeddedNats
from core.dev.embedded_postgres import EmbeddedPostgres
from core.settings import Settings, load_settings
from core.store.connect import connect
from core.tokens import issue_token
from tests.e2e.processes import ProcessStack

CONNECTIONS = 64
DISTINCT_REQUESTS = 2000
WARMUP_S = 1.0
BATCH, BATCH_CONNECTIONS = 500, 4


class _QuietStack(ProcessStack):
    """Services log warnings only: a per-request log line would be part of what gets measured."""

    def env(self) -> dict[str, str]:
        return {**super().env(), "HIVE_LOG_LEVEL": "WARNING"}


def _post_requests(host: str, token: str) -> list[bytes]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    return [build_request("POST", "/api/tasks", host, headers,
                          json.dumps({"title": f"bench {i}", "prompt": str(i), "capabilities": ["echo"]}).encode())
            for i in range(DISTINCT_REQUESTS)]


def _batch_requests(host: str, token: str) -> list[bytes]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    tasks = [{"title": f"bench {i}", "prompt": str(i), "capabilities": ["echo"]} for i in range(BATCH)]
    return [build_request("POST", "/api/tasks/batch", host, headers, json.dumps({"tasks": tasks}).encode())]


def _get_requests(host: str, token: str, ids: list[str]) -> list[bytes]:
    headers = {"Authorization": f"Bearer {token}"}
    return [build_request("GET", f"/api/tasks/{task_id}", host, headers) for task_id in ids]


async def _stream_messages(settings: Settings) -> int:
    nc, js = await connect(settings, "bench-gateway", ensure=False)
    try:
        return (await js.stream_info(settings.events_stream)).state.messages
    finally:
        await nc.close()


async def _projected_ids(settings: Settings, limit: int, timeout: float = 120.0) -> list[str]:
    """Waits until every TaskCreated is in the read model (only the gateway writes here), then samples ids."""
    expected = await _stream_messages(settings)
    conn = await asyncpg.connect(settings.database_url, server_settings={"search_path": settings.db_schema})
    try:
        deadline = time.monotonic() + timeout
        while (count := await conn.fetchval("SELECT count(*) FROM tasks")) < expected:
            if time.monotonic() > deadline:
                raise TimeoutError(f"read model has {count} of {expected} tasks")
            await asyncio.sleep(0.1)
        return [r["id"] for r in await conn.fetch("SELECT id FROM tasks ORDER BY random() LIMIT $1", limit)]
    finally:
        await conn.close()


def _profiler(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes]:
    """py-spy on the gateway while it is loaded: collapsed stacks, one line per stack with its sample count."""
    spy = Path(sys.executable).with_name("py-spy")
    return subprocess.Popen([str(spy), "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", "250",
                             "--format", "raw", "--output", str(out), "--nonblocking"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class _CpuMeter:
    """CPU seconds used by named process trees (a process and its children) between two readings."""

    def __init__(self, roots: dict[str, int]) -> None:
        self.trees = {name: [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
                      for name, pid in roots.items()}
        self.start = self._read()

    def _read(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for name, tree in self.trees.items():
            total = 0.0
            for proc in tree:
                try:
                    times = proc.cpu_times()
                except psutil.NoSuchProcess:
                    continue
                total += times.user + times.system
            out[name] = total
        return out

    def used(self) -> dict[str, float]:
        end = self._read()
        return {name: end[name] - self.start[name] for name in end}


async def _measure(procs: ProcessStack, servers: dict[str, int], requests: list[bytes], duration: float,
                   profile: Path | None, connections: int = CONNECTIONS) -> tuple[LoadResult, dict[str, float]]:
    """Runs the load; returns it and, per process, its CPU time per measured request in microseconds."""
    pid = procs.procs["gateway"].pid
    meter = _CpuMeter({"gateway": pid, "projections": procs.procs["projections"].pid, **servers})
    spy = _profiler(pid, duration, profile) if profile is not None else None
    result = await run_in_process("127.0.0.1", procs.gateway_port, requests, connections=connections,
                                  duration=duration, warmup=WARMUP_S)
    used = meter.used()
    if spy is not None:
        await asyncio.to_thread(spy.wait)
    bad = {status: n for status, n in result.statuses.items() if not 200 <= status < 300}
    if bad or result.errors or not result.requests:
        raise RuntimeError(f"gateway answered {result.statuses} with {result.errors} connection errors")
    served = result.requests * (1 + WARMUP_S / duration)  # warm-up requests cost CPU too
    cpu_us = {name: seconds / served * 1e6 for name, seconds in used.items()}
    cpu_us["loadgen"] = result.client_cpu_us
    return result, cpu_us


async def run(quick: bool, profile_dir: Path | None = None) -> dict[str, float]:
    duration = 3.0 if quick else 10.0
    home = Path(tempfile.mkdtemp(prefix="hive-bench-gw-"))
    home.chmod(0o755)
    nats, pg = EmbeddedNats(home / "nats"), EmbeddedPostgres(home / "pg")
    procs: ProcessStack | None = None
    try:
        settings = load_settings({}, nats_url=nats.start(), database_url=pg.start(), prefix="hive", db_schema="hive",
                                 jwt_secret=uuid.uuid4().hex * 2, log_level="WARNING")
        procs = _QuietStack(settings, home)
        for service in ("projections", "gateway"):
            procs.start(service)
        deadline = time.monotonic() + 120
        while not await procs.ready():
            if time.monotonic() > deadline:
                raise TimeoutError("gateway not ready")
            await asyncio.sleep(0.1)
        host = f"127.0.0.1:{procs.gateway_port}"
        token = issue_token(settings.jwt_secret, role="developer", subject="bench", now=datetime.now(UTC),
                            ttl=timedelta(hours=2))
        # POST first: it creates the tasks that GET then reads (tens of thousands, from the read model).
        assert nats.proc is not None and pg.proc is not None
        servers = {"nats": nats.proc.pid, "postgres": pg.proc.pid}
        post, post_cpu = await _measure(procs, servers, _post_requests(host, token), duration,
                                        profile_dir / "post.txt" if profile_dir else None)
        ids = await _projected_ids(settings, DISTINCT_REQUESTS)
        get, get_cpu = await _measure(procs, servers, _get_requests(host, token, ids), duration,
                                      profile_dir / "get.txt" if profile_dir else None)
        # Last: the projections are still busy with these tasks for a while after.
        batch, batch_cpu = await _measure(procs, servers, _batch_requests(host, token), duration,
                                          profile_dir / "batch.txt" if profile_dir else None, BATCH_CONNECTIONS)
        # CPU per request, per process: on a shared 2-core box this is steadier than req/s.
        return {
            **get.as_dict("get_task"),
            **{f"get_task_cpu_us_{name}": us for name, us in get_cpu.items()},
            **post.as_dict("post_task"),
            **{f"post_task_cpu_us_{name}": us for name, us in post_cpu.items()},
            "post_batch_tasks_per_s": batch.rps * BATCH,
            "post_batch_p99_ms": batch.p99_ms,
            "post_batch_gateway_cpu_us_per_task": batch_cpu["gateway"] / BATCH,
        }
    finally:
        if procs is not None:
            procs.stop_all()
        pg.stop()
        nats.stop()
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.gateway")
    parser.add_argument("--quick", action="store_true", help="3 s per figure instead of 10 s")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="py-spy the gateway under load; collapsed stacks in DIR/get.txt and DIR/post.txt")
    args = parser.parse_args()
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    for key, value in asyncio.run(run(args.quick, args.profile)).items():
        print(f"{key}: {value:.2f}")


if __name__ == "__main__":
    main()
