"""Projections: replay speed of `hive projections rebuild`, and live lag (publish -> committed in PostgreSQL)."""

from __future__ import annotations

import argparse
import asyncio
import bisect
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from core.dev.embedded_nats import EmbeddedNats
from core.dev.embedded_postgres import EmbeddedPostgres
from core.events import encode_envelope, new_envelope
from core.events.envelope import EventData
from core.events.task import TaskAssigned, TaskCompleted, TaskCreated, TaskQueued, TaskResult, TaskStarted
from core.ids import uuid7
from core.settings import Settings, load_settings
from core.store.connect import connect
from projections.migrate import apply_migrations

REPO = Path(__file__).resolve().parents[1]
EVENTS_PER_TASK = 5
# Tasks move through their lifecycle in staggered waves of this many, as under load: a batch holds
# creations of new tasks beside completions of older ones, so replay writes both inserts and patches.
WAVE = 200
AGENTS = 8
WINDOW = 2000  # publishes in flight (unacknowledged) while filling the stream
LIVE_RATE = 5000.0
LIVE_WARMUP_S = 1.0
NOTIFY_CHANNEL = "hive_bench_checkpoint"


def _task_event(i: int, step: int) -> tuple[str, EventData]:
    """(actor, event) for step 0..4 of task i, as the gateway and coordinator write them."""
    agent = f"bench-agent-{i % AGENTS}"
    match step:
        case 0:
            return "user:bench", TaskCreated(
                title=f"summarise document {i}", prompt=f"Summarise the attached report number {i} in three lines.",
                capabilities=["echo"], payload={"doc": i, "lang": "en"}, max_attempts=3,
                request_digest=uuid.UUID(int=i).hex,
            )
        case 1:
            return "coordinator", TaskQueued(attempt=1)
        case 2:
            return "coordinator", TaskAssigned(agent_id=agent, attempt=1)
        case 3:
            return "coordinator", TaskStarted(agent_id=agent, attempt=1)
    result = TaskResult(output=f"summary {i}", exit_code=0, metrics={"duration_s": 0.42, "tokens_per_s": 88.0})
    return "coordinator", TaskCompleted(agent_id=agent, attempt=1, result=result)


def task_stream(first: int, tasks: int) -> Iterator[tuple[str, bytes]]:
    """(subject suffix id, encoded envelope) for `tasks` lifecycles, waves staggered one step apart."""
    ids = [uuid7() for _ in range(tasks)]
    t0 = datetime.now(UTC)
    waves = (tasks + WAVE - 1) // WAVE
    for w in range(waves + EVENTS_PER_TASK - 1):
        for step in range(EVENTS_PER_TASK):
            wave = w - step
            if not 0 <= wave < waves:
                continue
            for i in range(wave * WAVE, min((wave + 1) * WAVE, tasks)):
                actor, event = _task_event(first + i, step)
                task_id = ids[i]
                env = new_envelope(event, event_id=uuid7(), aggregate_id=task_id,
                                   occurred_at=t0 + timedelta(milliseconds=w), actor=actor,
                                   correlation_id=f"req-{i}")
                yield task_id, encode_envelope(env)


class Publisher:
    """Pipelined JetStream publishes (core publish with a reply inbox), at most WINDOW awaiting their ack."""

    def __init__(self, nc: NATS, settings: Settings) -> None:
        self._nc, self._settings = nc, settings
        self._inbox = nc.new_inbox()
        self.published = 0
        self.acked = 0
        self.seqs: dict[int, int] = {}  # publish index -> stream seq
        self.acked_at: dict[int, float] = {}  # publish index -> when its ack arrived
        self._room = asyncio.Event()
        self.errors: list[bytes] = []

    async def start(self) -> None:
        await self._nc.subscribe(f"{self._inbox}.*", cb=self._on_ack, pending_msgs_limit=-1, pending_bytes_limit=-1)

    async def _on_ack(self, msg: Msg) -> None:
        ack = orjson.loads(msg.data)
        if "seq" not in ack:
            self.errors.append(msg.data)
        else:
            index = int(msg.subject.rsplit(".", 1)[1])
            self.seqs[index], self.acked_at[index] = ack["seq"], time.time()
        self.acked += 1
        if self.published - self.acked <= WINDOW // 2:
            self._room.set()

    async def publish(self, task_id: str, data: bytes) -> int:
        while self.published - self.acked >= WINDOW:
            self._room.clear()
            await self._room.wait()
        index = self.published
        self.published += 1
        headers = {"Nats-Msg-Id": uuid7(), "Hive-Event-Type": "task"}
        await self._nc.publish(self._settings.event_subject("task", task_id), data,
                               reply=f"{self._inbox}.{index}", headers=headers)
        return index

    async def settle(self, timeout: float = 120.0) -> None:
        await self._nc.flush()
        deadline = time.monotonic() + timeout
        while self.acked < self.published:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.acked}/{self.published} publishes acknowledged")
            await asyncio.sleep(0.01)
        if self.errors:
            raise RuntimeError(f"{len(self.errors)} publishes failed, e.g. {self.errors[0]!r}")


async def fill(nc: NATS, settings: Settings, events: int) -> int:
    pub = Publisher(nc, settings)
    await pub.start()
    for task_id, data in task_stream(0, events // EVENTS_PER_TASK):
        await pub.publish(task_id, data)
    await pub.settle()
    return max(pub.seqs.values())


def service_env(settings: Settings) -> dict[str, str]:
    return dict(os.environ, HIVE_NATS_URL=settings.nats_url, HIVE_DATABASE_URL=settings.database_url,
                HIVE_PREFIX=settings.prefix, HIVE_DB_SCHEMA=settings.db_schema, HIVE_LOG_LEVEL="WARNING")


async def timed_rebuild(settings: Settings) -> float:
    """Wall-clock seconds of `hive projections rebuild` as a user runs it (process start to exit)."""
    start = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "core.cli", "projections", "rebuild",
                                                cwd=REPO, env=service_env(settings), stderr=subprocess.DEVNULL)
    if await proc.wait() != 0:
        raise RuntimeError(f"hive projections rebuild exited with {proc.returncode}")
    return time.perf_counter() - start


async def add_commit_notify(conn: asyncpg.Connection, schema: str) -> None:
    """A trigger deferred to COMMIT on the checkpoint row: it notifies the new checkpoint with the server's
    clock at commit (the NOTIFY itself is delivered once the commit is done)."""
    await conn.execute(f"""
        CREATE OR REPLACE FUNCTION "{schema}".bench_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{NOTIFY_CHANNEL}', NEW.seq || ' ' || extract(epoch FROM clock_timestamp()));
            RETURN NULL;
        END $$;
        DROP TRIGGER IF EXISTS bench_notify ON "{schema}".projection_checkpoints;
        CREATE CONSTRAINT TRIGGER bench_notify AFTER INSERT OR UPDATE ON "{schema}".projection_checkpoints
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION "{schema}".bench_notify();
    """)


def percentile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


async def live_lag(nc: NATS, settings: Settings, duration_s: float) -> dict[str, float]:
    """Publish at LIVE_RATE into a running `hive projections`; per event, publish -> its batch committed."""
    lags, achieved = await live_lags(nc, settings, duration_s)
    committed = sorted(lag for t, lag, _, _ in lags if t >= LIVE_WARMUP_S)
    seen = sorted(lag for t, _, lag, _ in lags if t >= LIVE_WARMUP_S)
    stored = sorted(lag for t, _, _, lag in lags if t >= LIVE_WARMUP_S)
    return {
        "projection_lag_p50_ms": percentile(committed, 0.5),
        "projection_lag_p99_ms": percentile(committed, 0.99),
        "projection_lag_max_ms": committed[-1],
        # The same, up to when this process got the commit's NOTIFY (adds delivery and our own scheduling).
        "projection_lag_seen_p99_ms": percentile(seen, 0.99),
        # Publish -> JetStream's ack (stored): the part of the lag before the projection could see the event.
        "projection_publish_ack_p99_ms": percentile(stored, 0.99),
        "projection_live_rate_per_s": achieved,
        "projection_live_events": float(len(committed)),
    }


async def live_lags(
    nc: NATS, settings: Settings, duration_s: float
) -> tuple[list[tuple[float, float, float, float]], float]:
    """Per event published at LIVE_RATE: (seconds since the start, ms from publish to its batch's commit,
    ms to the NOTIFY of that commit reaching us, ms to JetStream's ack); and the publish rate achieved.
    Wall clock on both sides: PostgreSQL runs on this machine."""
    commits: list[tuple[int, float, float]] = []  # (checkpoint seq, commit time, arrival time), in order

    def on_notify(*args: Any) -> None:
        seq, at = args[3].split()
        commits.append((int(seq), float(at), time.time()))

    conn = await asyncpg.connect(settings.database_url)
    await add_commit_notify(conn, settings.db_schema)
    await conn.add_listener(NOTIFY_CHANNEL, on_notify)
    proc = subprocess.Popen([sys.executable, "-m", "core.cli", "projections"], cwd=REPO, env=service_env(settings))
    try:
        pub = Publisher(nc, settings)
        await pub.start()
        # Warm-up: the service is up and projecting once a first event comes back committed.
        stream = task_stream(10_000_000, int(LIVE_RATE * (duration_s + 2) / EVENTS_PER_TASK))
        await pub.publish(*next(stream))
        await pub.settle()
        while not commits or commits[-1][0] < pub.seqs[0]:
            if proc.poll() is not None:
                raise RuntimeError("hive projections exited")
            await asyncio.sleep(0.01)
        sent: list[float] = []
        start = time.time()
        total = int(LIVE_RATE * duration_s)
        for k, (task_id, data) in zip(range(total), stream):
            due = start + k / LIVE_RATE
            now = time.time()
            if due > now:
                await asyncio.sleep(due - now)
            sent.append(time.time())
            await pub.publish(task_id, data)
        await pub.settle()
        last = max(pub.seqs.values())
        deadline = time.monotonic() + 60
        while commits[-1][0] < last:
            if time.monotonic() > deadline:
                raise TimeoutError(f"projection stuck at {commits[-1][0]} < {last}")
            await asyncio.sleep(0.01)
        achieved = total / (sent[-1] - start)
    finally:
        proc.terminate()
        proc.wait(30)
        await conn.close()
    commit_seqs = [c[0] for c in commits]
    lags = []
    for k, t_sent in enumerate(sent):
        seq = pub.seqs[k + 1]  # index 0 was the warm-up event
        _, committed, seen = commits[bisect.bisect_left(commit_seqs, seq)]
        acked = pub.acked_at[k + 1]
        lags.append((t_sent - start, (committed - t_sent) * 1000, (seen - t_sent) * 1000, (acked - t_sent) * 1000))
    return lags, achieved


async def run(quick: bool) -> dict[str, float]:
    events, live_s = (100_000, 5.0) if quick else (1_000_000, 20.0)
    home = Path(tempfile.mkdtemp(prefix="hive-bench-proj-"))
    home.chmod(0o755)
    nats, pg = EmbeddedNats(home / "nats"), EmbeddedPostgres(home / "pg")
    try:
        settings = load_settings({}, nats_url=nats.start(), database_url=pg.start(), prefix="hive", db_schema="hive")
        nc, js = await connect(settings, "bench-projections")
        try:
            t = time.perf_counter()
            last = await fill(nc, settings, events)
            print(f"filled {last:,} events in {time.perf_counter() - t:.1f}s", file=sys.stderr, flush=True)
            replay_s = await timed_rebuild(settings)
            conn = await asyncpg.connect(settings.database_url)
            try:
                await apply_migrations(conn, settings.db_schema)
                rows = await conn.fetchval('SELECT count(*) FROM hive.tasks WHERE status = $1', "completed")
                checkpoint = await conn.fetchval("SELECT seq FROM hive.projection_checkpoints")
                # Setup, not measured: write out what the bulk load dirtied now, not during the steady run.
                await conn.execute("CHECKPOINT")
            finally:
                await conn.close()
            if checkpoint != last or rows != events // EVENTS_PER_TASK:
                raise RuntimeError(f"rebuild incomplete: checkpoint {checkpoint}/{last}, {rows} completed rows")
            out: dict[str, float] = {
                "replay_events": float(last), "replay_s": replay_s, "replay_events_per_s": last / replay_s,
            }
            out.update(await live_lag(nc, settings, live_s))
            return out
        finally:
            await nc.close()
    finally:
        pg.stop()
        nats.stop()
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.projections")
    parser.add_argument("--quick", action="store_true", help="100,000 events and 5 s live instead of 1,000,000 and 20 s")
    args = parser.parse_args()
    for key, value in asyncio.run(run(args.quick)).items():
        print(f"{key}: {value:,.1f}")


if __name__ == "__main__":
    main()
