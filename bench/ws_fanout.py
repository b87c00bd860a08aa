"""WebSocket fan-out: 1,000 `websockets` clients subscribed to `task.*`, events appended at a paced rate,
and the time from each append to its receipt by each client (`--quick`: 200 clients, fewer events).

The gateway runs as its own process (alone: nothing else reacts to the events) on embedded NATS and
PostgreSQL, as in bench.gateway. This process appends `task.created.v1` events through core's EventStore,
one new task per event, at `RATE` per second; each event's prompt carries a CLOCK_MONOTONIC timestamp
taken just before its append (one clock for every process on the machine). The hub routes each event to
every client, so an event makes `clients` deliveries; p50/p99/max are over all of them.

The clients run in separate processes (two for 1,000 clients, 500 connections each; one in quick mode),
not in this one: the publisher's pacing must not wait behind the clients' reads, and two client
processes spread the clients' own work (about as much CPU per delivery as the gateway's: the
`websockets` client parses every frame in Python) over both cores. Each runs uvloop and keeps its
collector off while it measures, so the instrument adds as little as it can. On a two-core machine the
gateway, nats-server and the client processes still share the CPU, so a receipt time includes the
client's turn to read its socket: the latencies are an upper bound on the gateway's own delay. The CPU
per delivery of the gateway and of the clients (`*_cpu_us_per_delivery`, over the measured and warm-up
events) is the steadier figure to judge a change by; `--profile FILE` records the gateway with py-spy.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import resource
import shutil
import sys
import tempfile
import time
import uuid
from array import array
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import psutil
import uvloop
import websockets

from bench.gateway import _profiler, _QuietStack
from core.dev.embedded_nats import EmbeddedNats
from core.dev.embedded_postgres import EmbeddedPostgres
from core.events import new_envelope
from core.events.task import TaskCreated
from core.ids import uuid7
from core.settings import load_settings
from core.store.connect import connect
from core.store.event_store import EventStore
from core.tokens import issue_token

CLOCK = time.CLOCK_MONOTONIC  # system-wide on Linux: comparable between processes
RATE = 10.0  # events per second
WARMUP = 5  # events before the measured ones (the hub's reader starts, connections settle)
CLIENTS_PER_PROCESS = 500
CONNECTING = 50  # handshakes in flight per client process
TOPIC = "task.*"


def _now_ns() -> int:
    return time.clock_gettime_ns(CLOCK)


def _raise_open_files(needed: int) -> None:
    """One descriptor per connection: raise the soft limit towards the hard one (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


# -- the client processes -------------------------------------------------------------------------------


async def _clients(spec: dict[str, Any]) -> None:
    """Open spec["clients"] subscribed connections, say "ready", then record each measured event's latency
    (ms) on every connection; write them to spec["out"] as doubles once every connection has them all."""
    _raise_open_files(spec["clients"] + 256)
    gate = asyncio.Semaphore(CONNECTING)
    headers = {"Authorization": f"Bearer {spec['token']}"}
    subscribe = json.dumps({"id": "s", "type": "subscribe", "topic": TOPIC})

    async def open_one() -> websockets.ClientConnection:
        async with gate:
            ws = await websockets.connect(spec["url"], additional_headers=headers, ping_interval=None,
                                          max_size=None, open_timeout=60)
            await ws.send(subscribe)
            reply = orjson.loads(await ws.recv())
            if reply.get("type") != "subscribe":
                raise RuntimeError(f"subscribe refused: {reply}")
            return ws

    conns = await asyncio.gather(*(open_one() for _ in range(spec["clients"])))
    latencies = array("d")
    # The client side is the instrument: no collector pauses in it while it measures.
    gc.collect()
    gc.freeze()
    gc.disable()
    print("ready", flush=True)

    async def read(ws: websockets.ClientConnection) -> None:
        for _ in range(spec["events"]):
            raw = await ws.recv(decode=False)  # bytes: orjson reads them without a str made first
            received = _now_ns()
            kind, _, sent = orjson.loads(raw)["data"]["data"]["prompt"].partition(":")
            if kind == "m":
                latencies.append((received - int(sent)) / 1e6)

    try:
        await asyncio.wait_for(asyncio.gather(*(read(ws) for ws in conns)), spec["timeout_s"])
    finally:  # what arrived is reported even if some never came: the parent counts the deliveries
        with open(spec["out"], "wb") as out:
            latencies.tofile(out)
        print("done", flush=True)
        await asyncio.wait_for(asyncio.gather(*(ws.close() for ws in conns), return_exceptions=True), 30)


# -- the benchmark --------------------------------------------------------------------------------------


async def _start_clients(n: int, spec: dict[str, Any], home: Path) -> list[tuple[asyncio.subprocess.Process, Path]]:
    procs = []
    for i in range(0, n, CLIENTS_PER_PROCESS):
        out = home / f"latencies-{i}.bin"
        part = {**spec, "clients": min(CLIENTS_PER_PROCESS, n - i), "out": str(out)}
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bench.ws_fanout", "--client",
                                                    json.dumps(part), stdout=asyncio.subprocess.PIPE)
        procs.append((proc, out))
    for proc, _ in procs:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 180)
        if line.strip() != b"ready":
            raise RuntimeError(f"a client process did not connect its clients (exit {await proc.wait()})")
    return procs


async def _publish(store: EventStore, events: int, rate: float) -> None:
    start = time.perf_counter()
    for i in range(WARMUP + events):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        sent = _now_ns()
        data = TaskCreated(title="ws fan-out", prompt=f"{'w' if i < WARMUP else 'm'}:{sent}")
        await store.append([new_envelope(data, event_id=uuid7(), aggregate_id=uuid7(),
                                         occurred_at=datetime.now(UTC), actor="bench")], 0)


def _cpu_s(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def _percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(quick: bool, profile: Path | None = None) -> dict[str, float]:
    clients, events = (200, 50) if quick else (1000, 200)
    _raise_open_files(clients + 1024)
    home = Path(tempfile.mkdtemp(prefix="hive-bench-ws-"))
    home.chmod(0o755)
    nats, pg = EmbeddedNats(home / "nats", gomaxprocs=1), EmbeddedPostgres(home / "pg")
    stack: _QuietStack | None = None
    client_procs: list[tuple[asyncio.subprocess.Process, Path]] = []
    try:
        settings = load_settings({}, nats_url=nats.start(), database_url=pg.start(), prefix="hive", db_schema="hive",
                                 jwt_secret=uuid.uuid4().hex * 2, log_level="WARNING")
        stack = _QuietStack(settings, home)
        gateway = stack.start("gateway")
        deadline = time.monotonic() + 120
        while not await stack.ready():
            if time.monotonic() > deadline:
                raise TimeoutError("gateway not ready")
            await asyncio.sleep(0.1)
        token = issue_token(settings.jwt_secret, role="viewer", subject="bench", now=datetime.now(UTC),
                            ttl=timedelta(hours=2))
        spec: dict[str, Any] = {"url": stack.gateway_url.replace("http://", "ws://") + "/ws", "token": token,
                "events": WARMUP + events, "timeout_s": 120 + events / RATE}
        client_procs = await _start_clients(clients, spec, home)
        nc, js = await connect(settings, "bench-ws-publisher")
        try:
            cpu, client_cpu = _cpu_s(gateway.pid), sum(_cpu_s(proc.pid) for proc, _ in client_procs)
            spy = _profiler(gateway.pid, events / RATE, profile) if profile is not None else None
            await _publish(EventStore(nc, js, settings), events, RATE)
            for proc, _ in client_procs:
                assert proc.stdout is not None
                await asyncio.wait_for(proc.stdout.readline(), spec["timeout_s"])  # "done" (or its end)
            cpu = _cpu_s(gateway.pid) - cpu
            client_cpu = sum(_cpu_s(proc.pid) for proc, _ in client_procs) - client_cpu
            codes = [await asyncio.wait_for(proc.wait(), 60) for proc, _ in client_procs]
            if spy is not None:
                await asyncio.to_thread(spy.wait)
        finally:
            await nc.close()
        latencies: list[float] = []
        for _, out in client_procs:
            got = array("d")
            got.frombytes(out.read_bytes())
            latencies.extend(got)
        if any(codes) or len(latencies) != clients * events:
            raise RuntimeError(f"{len(latencies)} of {clients * events} deliveries (client exits {codes})")
        latencies.sort()
        return {
            "ws_fanout_clients": float(clients),
            "ws_fanout_deliveries": float(len(latencies)),
            "ws_fanout_p50_ms": _percentile(latencies, 0.50),
            "ws_fanout_p99_ms": _percentile(latencies, 0.99),
            "ws_fanout_max_ms": latencies[-1],
            # Warm-up events are a small share; counted with the rest, the figure errs on the high side.
            "ws_fanout_gateway_cpu_us_per_delivery": cpu / (clients * (WARMUP + events)) * 1e6,
            "ws_fanout_client_cpu_us_per_delivery": client_cpu / (clients * (WARMUP + events)) * 1e6,
        }
    finally:
        for proc, _ in client_procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        if stack is not None:
            stack.stop_all()
        pg.stop()
        nats.stop()
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ws_fanout")
    parser.add_argument("--quick", action="store_true", help="200 clients and 50 events instead of 1,000 and 200")
    parser.add_argument("--profile", type=Path, metavar="FILE",
                        help="py-spy the gateway while events fan out; collapsed stacks in FILE")
    parser.add_argument("--client", metavar="SPEC", help=argparse.SUPPRESS)  # a client process (JSON spec)
    args = parser.parse_args()
    if args.client:
        uvloop.run(_clients(json.loads(args.client)))  # the faster loop: less of the client side is measured
        return
    for key, value in asyncio.run(run(args.quick, args.profile)).items():
        print(f"{key}: {value:.2f}")


if __name__ == "__main__":
    main()
