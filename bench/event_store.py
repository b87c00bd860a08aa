"""Event store appends (optimistic concurrency, through `core`) against raw pipelined JetStream publishes."""

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

from core.dev.embedded_nats import EmbeddedNats
from core.events import new_envelope
from core.events.codec import encode_envelope
from core.events.task import TaskQueued
from core.ids import uuid7
from core.settings import load_settings
from core.store.event_store import EventStore
from core.store.publisher import Publisher
from core.store.streams import ensure_streams

AGGREGATES = 1000  # subjects with an append in flight at once, each checked against its last sequence
APPENDERS = 4
WINDOW = 4096


def _envelopes(aggregate_ids: list[str]) -> list[Any]:
    now = datetime.now(UTC)
    return [new_envelope(TaskQueued(attempt=1), event_id=uuid7(), aggregate_id=a, occurred_at=now, actor="bench")
            for a in aggregate_ids]


async def _raw_publish(nc: Any, subject: str, payload: bytes, n: int) -> float:
    """Plain JetStream publishes of same-size payloads, a bounded window of acks in flight, no headers."""
    publisher = Publisher(nc, window=WINDOW)
    t0 = time.perf_counter()
    pending: list[asyncio.Future[Any]] = []
    for _ in range(n):
        pending.append(await publisher.submit(subject, payload))
        if len(pending) >= WINDOW // 2:
            await asyncio.gather(*pending)
            pending.clear()
    await asyncio.gather(*pending)
    elapsed = time.perf_counter() - t0
    await publisher.close()
    return n / elapsed


async def _append(store: EventStore, n: int) -> float:
    """`EventStore.append_many` from APPENDERS concurrent writers (as the coordinator's decisions and the
    gateways' writes overlap), each over its own aggregates: every event carries its aggregate's expected
    last sequence, so a writer's next event on an aggregate waits for the previous one's ack."""
    ids = [uuid7() for _ in range(AGGREGATES)]
    seqs = dict.fromkeys(ids, 0)
    rounds = max(1, n // AGGREGATES)
    # The events exist before they are appended (a caller's decisions made them); encoding them, their
    # headers, the expected sequence of each aggregate and settling each ack are the append's cost.
    made = [_envelopes(ids) for _ in range(rounds)]
    share = AGGREGATES // APPENDERS

    async def appender(k: int) -> None:
        for envelopes in made:
            mine = envelopes[k * share:(k + 1) * share]
            results = await store.append_many([([e], seqs[e.aggregate_id]) for e in mine])
            for e, result in zip(mine, results, strict=True):
                if not isinstance(result, int):
                    raise RuntimeError(f"append failed: {result!r}")
                seqs[e.aggregate_id] = result

    t0 = time.perf_counter()
    await asyncio.gather(*(appender(k) for k in range(APPENDERS)))
    return rounds * share * APPENDERS / (time.perf_counter() - t0)


async def run(quick: bool) -> dict[str, float]:
    n = 50_000 if quick else 200_000
    home = Path(tempfile.mkdtemp(prefix="hive-bench-es-"))
    server = EmbeddedNats(home / "nats")
    url = server.start()
    try:
        settings = load_settings({}, nats_url=url, prefix="bench", jwt_secret="x" * 64)
        nc = await nats.connect(url)
        js = nc.jetstream()
        await ensure_streams(js, settings)
        store = EventStore(nc, js, settings)
        sample = encode_envelope(_envelopes([uuid7()])[0])
        raw, appended = [], []
        for _ in range(3):  # alternate, so both see the same machine noise and stream size
            raw.append(await _raw_publish(nc, f"bench.events.raw.{uuid7()}", sample, n))
            appended.append(await _append(store, n))
        await nc.close()
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)
    raw_rate, append_rate = statistics.median(raw), statistics.median(appended)
    return {"raw_publish_per_s": raw_rate, "append_events_per_s": append_rate,
            "append_vs_raw_ratio": append_rate / raw_rate}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.event_store")
    parser.add_argument("--quick", action="store_true")
    for key, value in asyncio.run(run(parser.parse_args().quick)).items():
        print(f"{key}: {value:,.2f}")


if __name__ == "__main__":
    main()
