"""What `sync_interval: always` costs: acknowledged JetStream publishes with nats-server's default (fsync every
2 minutes) and with an fsync before every ack, in the same run, on the same disk.

`python -m bench.sync_interval [--quick] [--n N]`. Two servers, one per setting, each with its own store under
one temp dir; three passes, alternating between them, of N pipelined publishes (Hive's Publisher, as appends
go: a window of acks in flight) and N/10 sequential ones (one at a time: the latency a single append waits
for), of an event-sized payload. Prints the medians.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nats
from nats.js.api import StorageType, StreamConfig

from core.dev.embedded_nats import EmbeddedNats
from core.events import new_envelope
from core.events.codec import encode_envelope
from core.events.task import TaskQueued
from core.ids import uuid7
from core.store.publisher import Publisher

WINDOW = 1024
PASSES = 3
SETTINGS = {"default": None, "always": "jetstream { sync_interval: always }\n"}


def _payload() -> bytes:
    envelope = new_envelope(TaskQueued(attempt=1), event_id=uuid7(), aggregate_id=uuid7(),
                            occurred_at=datetime.now(UTC), actor="bench")
    return encode_envelope(envelope)


async def _pipelined(publisher: Publisher, subject: str, payload: bytes, n: int) -> float:
    pending: list[asyncio.Future[Any]] = []
    t0 = time.perf_counter()
    for _ in range(n):
        pending.append(await publisher.submit(subject, payload))
        if len(pending) >= WINDOW:
            await asyncio.gather(*pending)
            pending.clear()
    await asyncio.gather(*pending)
    return n / (time.perf_counter() - t0)


async def _sequential(publisher: Publisher, subject: str, payload: bytes, n: int) -> tuple[float, float]:
    """(msgs/s, median ms per acknowledged publish) with one publish in flight at a time."""
    took: list[float] = []
    t0 = time.perf_counter()
    for _ in range(n):
        start = time.perf_counter()
        await publisher.publish(subject, payload)
        took.append(time.perf_counter() - start)
    return n / (time.perf_counter() - t0), statistics.median(took) * 1e3


async def _one_pass(url: str, n: int, n_seq: int) -> dict[str, float]:
    nc = await nats.connect(url)
    publisher = Publisher(nc, window=2 * WINDOW)
    try:
        await nc.jetstream().add_stream(StreamConfig(name="SYNC", subjects=["sync.>"], storage=StorageType.FILE))
        payload = _payload()
        await _pipelined(publisher, "sync.warmup", payload, min(n, 1000))
        pipelined = await _pipelined(publisher, "sync.p", payload, n)
        sequential, ms = await _sequential(publisher, "sync.s", payload, n_seq)
        return {"pipelined": pipelined, "sequential": sequential, "sequential_ms": ms}
    finally:
        await publisher.close()
        await nc.close()


async def run(quick: bool, n: int | None = None) -> dict[str, float]:
    n = n or (5_000 if quick else 20_000)
    n_seq = max(100, n // 10)
    home = Path(tempfile.mkdtemp(prefix="hive-bench-sync-"))
    servers: dict[str, EmbeddedNats] = {}
    try:
        for name, config in SETTINGS.items():
            config_file = None
            if config is not None:
                config_file = home / f"{name}.conf"
                config_file.write_text(config)
            servers[name] = EmbeddedNats(home / name, config_file=config_file)
            servers[name].start()
        raw: dict[str, dict[str, list[float]]] = {name: {} for name in servers}
        # Alternate the servers pass by pass, so both see the same disk and machine noise.
        for _ in range(PASSES):
            for name, server in servers.items():
                for key, value in (await _one_pass(server.url, n, n_seq)).items():
                    raw[name].setdefault(key, []).append(value)
    finally:
        for server in servers.values():
            server.stop()
        shutil.rmtree(home, ignore_errors=True)
    figures: dict[str, float] = {}
    for name, series in raw.items():
        figures[f"{name}_pipelined_msgs_per_s"] = statistics.median(series["pipelined"])
        figures[f"{name}_sequential_msgs_per_s"] = statistics.median(series["sequential"])
        figures[f"{name}_sequential_ack_ms_p50"] = statistics.median(series["sequential_ms"])
    figures["always_vs_default_pipelined"] = (figures["always_pipelined_msgs_per_s"]
                                              / figures["default_pipelined_msgs_per_s"])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sync_interval")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--n", type=int, default=None, help="pipelined publishes per server (default 20,000)")
    args = parser.parse_args()
    for key, value in asyncio.run(run(args.quick, args.n)).items():
        print(f"{key}: {value:,.2f}")


if __name__ == "__main__":
    main()
