"""Probes for the read-side fault tests: the stored checkpoint over time, the gateway's answers over time,
and the read model compared with the event log."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import asyncpg
import httpx

from nats.js import JetStreamContext

from core.settings import Settings
from core.store.checkpoints import checkpoint_bucket, checkpoint_decoder
from core.store.event_store import EventStore
from projections.projector import CHECKPOINT_NAME

async def _connect(settings: Settings) -> asyncpg.Connection[Any]:
    conn: asyncpg.Connection[Any] = await asyncpg.connect(
        settings.database_url, server_settings={"search_path": settings.db_schema}, timeout=5)
    return conn


class CheckpointWatch:
    """Reads the projections' stored checkpoint every few milliseconds; `seen` is every value, in order."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self.seen: list[int] = []

    async def run(self) -> None:
        while True:
            try:
                conn = await _connect(self._settings)
                try:
                    while True:
                        seq = await conn.fetchval(
                            "SELECT seq FROM projection_checkpoints WHERE name = $1", CHECKPOINT_NAME)
                        if seq is not None:
                            self.seen.append(int(seq))
                        await asyncio.sleep(0.02)
                finally:
                    await conn.close()
            except Exception:  # not migrated yet, or PostgreSQL stopped under the query: connect again
                pass
            await asyncio.sleep(0.05)

    async def stored(self) -> int:
        """The checkpoint as stored now."""
        conn = await _connect(self._settings)
        try:
            return int(await conn.fetchval(
                "SELECT seq FROM projection_checkpoints WHERE name = $1", CHECKPOINT_NAME) or 0)
        finally:
            await conn.close()

    def backwards(self) -> list[tuple[int, int]]:
        """Every step where the checkpoint went down (must stay empty)."""
        return [(a, b) for a, b in zip(self.seen, self.seen[1:]) if b < a]


class MirrorWatch:
    """Every checkpoint the projections put in the NATS KV mirror (which the coordinator measures lag from)."""

    def __init__(self, js: JetStreamContext, settings: Settings) -> None:
        self._js, self._settings = js, settings
        self.seen: list[int] = []

    async def run(self) -> None:
        kv = await self._js.key_value(checkpoint_bucket(self._settings))
        watcher = await kv.watch(CHECKPOINT_NAME)
        async for entry in watcher:
            if entry is not None and entry.value:
                self.seen.append(checkpoint_decoder.decode(entry.value).seq)

    def backwards(self) -> list[tuple[int, int]]:
        return [(a, b) for a, b in zip(self.seen, self.seen[1:]) if b < a]


class ReadProbe:
    """GETs one task and a page of tasks in a loop. An answer counts under the phase its request was sent in,
    and only if the phase had not changed by the time it came back; `answers[(phase, route, status)]`."""

    def __init__(self, client: httpx.AsyncClient, ids: list[str]) -> None:
        self._client = client
        self.ids = ids  # read in turn; the test may append to it
        self.phase = "before"
        self.answers: Counter[tuple[str, str, int]] = Counter()
        self.bad: list[tuple[str, str, int, str]] = []  # (phase, route, status, body) of answers not 200/503
        self.first_ok: dict[str, float] = {}  # phase -> time.monotonic() of its first 200

    async def run(self) -> None:
        i = 0
        while True:
            task_id = self.ids[i % len(self.ids)]
            i += 1
            for route, path in (("task", f"/api/tasks/{task_id}"), ("list", "/api/tasks?limit=50")):
                phase = self.phase
                try:
                    r = await self._client.get(path)
                except httpx.HTTPError as err:
                    self.bad.append((phase, route, 0, repr(err)))
                    continue
                if phase != self.phase:
                    continue
                self.answers[(phase, route, r.status_code)] += 1
                if r.status_code == 200:
                    self.first_ok.setdefault(phase, time.monotonic())
                if r.status_code != 200 and not _is_problem_503(r):
                    self.bad.append((phase, route, r.status_code, r.text[:300]))

    def count(self, phase: str, status: int | None = None) -> int:
        return sum(n for (p, _, s), n in self.answers.items() if p == phase and status in (None, s))

    def statuses(self, phase: str) -> set[int]:
        return {s for (p, _, s) in self.answers if p == phase}


def _is_problem_503(r: httpx.Response) -> bool:
    return (r.status_code == 503 and r.headers.get("content-type", "").startswith("application/problem+json")
            and r.json().get("status") == 503)


async def log_histories(store: EventStore, ids: list[str]) -> dict[str, list[Any]]:
    """Each task's recorded events, from the log (16 loads at a time)."""
    sem = asyncio.Semaphore(16)

    async def one(task_id: str) -> tuple[str, list[Any]]:
        async with sem:
            return task_id, await store.load("task", task_id)

    return dict(await asyncio.gather(*(one(task_id) for task_id in ids)))


async def all_completed_in_log(store: EventStore, ids: list[str]) -> bool:
    histories = await log_histories(store, ids)
    return all(any(r.envelope.type == "task.completed.v1" for r in h) for h in histories.values())


async def read_model_vs_log(settings: Settings, store: EventStore, ids: list[str]) -> list[str]:
    """Differences between the tasks table and the log (empty when they agree): every task once, in the
    status, result and last sequence its history ends with, and no row for a task the test did not submit."""
    conn = await _connect(settings)
    try:
        rows = {r["id"]: r for r in await conn.fetch(
            "SELECT id, status, result->>'output' AS output, attempt, last_seq FROM tasks")}
        total = await conn.fetchval("SELECT count(*) FROM tasks")
    finally:
        await conn.close()
    problems = [f"{total} rows for {len(rows)} ids"] if total != len(rows) else []
    problems += [f"unexpected row {task_id}" for task_id in set(rows) - set(ids)]
    for task_id, history in (await log_histories(store, ids)).items():
        row = rows.get(task_id)
        types = [r.envelope.type for r in history]
        if row is None:
            problems.append(f"{task_id}: no row; log {types}")
            continue
        completed = [r.envelope.data for r in history if r.envelope.type == "task.completed.v1"]
        if len(completed) != 1:
            problems.append(f"{task_id}: {len(completed)} completed events: {types}")
            continue
        want = ("completed", completed[0].result.output, completed[0].attempt, history[-1].seq)
        got = (row["status"], row["output"], row["attempt"], row["last_seq"])
        if got != want:
            problems.append(f"{task_id}: row {got}, log {want}")
    return problems
