"""WebSocket fan-out: 1,000 clients subscribed to `task.*`, events appended at a paced rate, and the time
from each append to its receipt by each client (`--quick`: 200 clients, fewer events).

The gateway runs as its own process (alone: nothing else reacts to the events) on embedded NATS and
PostgreSQL, as in bench.gateway. This process appends `task.created.v1` events through core's EventStore,
one new task per event, at `RATE` per second; each event's prompt carries a CLOCK_MONOTONIC timestamp
taken just before its append (one clock for every process on the machine). The hub routes each event to
every client, so an event makes `clients` deliveries; p50/p99/max are over all of them.

The clients run in separate processes (two for 1,000 clients, 500 connections each; one in quick mode),
not in this one: the publisher's pacing must not wait behind the clients' reads. Each client is a bare
asyncio protocol on uvloop that cuts frames out of its socket's bytes and stamps each text frame with
the time its bytes arrived: the `websockets` client library spent as much CPU per message as the gateway,
and on two cores the instrument's CPU is taken from the gateway. The collector is off while measuring.
The gateway, nats-server and the client processes still share the machine, so a receipt time includes
the client's turn to read its socket: the latencies are an upper bound on the gateway's own delay. The
CPU per delivery of the gateway and of the clients (`*_cpu_us_per_delivery`, over the measured and
warm-up events) is the steadier figure to judge a change by; `--profile FILE` records the gateway with
py-spy.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import os
import json
import resource
import shutil
import sys
import tempfile
import time
import uuid
from array import array
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import orjson
import psutil
import uvloop

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


def _frame(opcode: int, payload: bytes) -> bytes:
    """A client frame: masked, as RFC 6455 requires of clients (payloads here are short)."""
    assert len(payload) < 126
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked


class _Conn(asyncio.Protocol):
    """One WebSocket connection, as lean as a client can be: frames are cut out of the byte stream by hand
    and each text frame's receipt time is the time its bytes arrived. (The `websockets` client spent about
    as much CPU per message as the gateway, and on two cores that CPU is taken from the gateway.)"""

    def __init__(self, on_text: Callable[[bytes, int], None]) -> None:
        self._on_text = on_text
        self._buf = bytearray()
        self._open = False
        self.transport: asyncio.Transport | None = None
        self.upgraded: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.first: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not an asyncio.Transport subclass

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        now = _now_ns()
        buf = self._buf
        buf += data
        if not self._open:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buf.startswith(b"HTTP/1.1 101"):
                self.upgraded.set_exception(RuntimeError(bytes(buf[:200]).decode(errors="replace")))
                return
            del buf[: end + 4]
            self._open = True
            self.upgraded.set_result(None)
        while len(buf) >= 2:
            length, start = buf[1] & 0x7F, 2
            if length == 126:
                if len(buf) < 4:
                    return
                length, start = int.from_bytes(buf[2:4], "big"), 4
            elif length == 127:
                if len(buf) < 10:
                    return
                length, start = int.from_bytes(buf[2:10], "big"), 10
            if len(buf) < start + length:
                return
            opcode, payload = buf[0] & 0x0F, bytes(buf[start:start + length])
            del buf[: start + length]
            if opcode == 0x1:
                if not self.first.done():
                    self.first.set_result(payload)
                else:
                    self._on_text(payload, now)
            elif opcode == 0x9 and self.transport is not None:  # ping: a pong, or the server closes us
                self.transport.write(_frame(0xA, payload))


async def _clients(spec: dict[str, Any]) -> None:
    """Open spec["clients"] subscribed connections, say "ready", then record each measured event's latency
    (ms) on every connection; write them to spec["out"] as doubles once every connection has them all."""
    _raise_open_files(spec["clients"] + 256)
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(CONNECTING)
    url = urlsplit(spec["url"])
    subscribe = _frame(0x1, json.dumps({"id": "s", "type": "subscribe", "topic": TOPIC}).encode())
    latencies = array("d")
    expected = spec["clients"] * spec["events"]
    counted = [0]
    all_in = loop.create_future()

    def on_text(payload: bytes, received: int) -> None:
        kind, _, sent = orjson.loads(payload)["data"]["data"]["prompt"].partition(":")
        if kind == "m":
            latencies.append((received - int(sent)) / 1e6)
        counted[0] += 1
        if counted[0] == expected and not all_in.done():
            all_in.set_result(None)

    async def open_one() -> _Conn:
        async with gate:
            _, conn = await loop.create_connection(lambda: _Conn(on_text), url.hostname, url.port)
            assert conn.transport is not None
            key = base64.b64encode(os.urandom(16)).decode()
            conn.transport.write(
                f"GET {url.path} HTTP/1.1\r\nHost: {url.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                f"Authorization: Bearer {spec['token']}\r\n\r\n".encode())
            await asyncio.wait_for(conn.upgraded, 60)
            conn.transport.write(subscribe)
            reply = orjson.loads(await asyncio.wait_for(conn.first, 60))
            if reply.get("type") != "subscribe":
                raise RuntimeError(f"subscribe refused: {reply}")
            return conn

    conns = await asyncio.gather(*(open_one() for _ in range(spec["clients"])))
    # The client side is the instrument: no collector pauses in it while it measures.
    gc.collect()
    gc.freeze()
    gc.disable()
    print("ready", flush=True)
    try:
        await asyncio.wait_for(all_in, spec["timeout_s"])
    finally:  # what arrived is reported even if some never came: the parent counts the deliveries
        with open(spec["out"], "wb") as out:
            latencies.tofile(out)
        print("done", flush=True)
        for conn in conns:
            if conn.transport is not None:
                conn.transport.close()


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
