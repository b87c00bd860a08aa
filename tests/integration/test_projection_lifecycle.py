"""Projection of task and agent histories into the read models (real NATS, real PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from core.events import new_envelope
from core.events.agent import AgentDeregistered, AgentRegistered, Hardware
from core.events.envelope import EventData
from core.events.task import (
    TaskAssigned,
    TaskCompleted,
    TaskCreated,
    TaskFailed,
    TaskQueued,
    TaskReportRejected,
    TaskResult,
    TaskStarted,
)
from core.ids import uuid7
from core.settings import Settings
from core.store.connect import connect
from core.store.event_store import EventStore
from projections import writer
from projections.db import create_pool
from projections.service import running_projector
from tests.helpers import wait_until

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


async def append(store: EventStore, aggregate_id: str, events: list[EventData], actor: str = "user:ada") -> int:
    envelopes = [
        new_envelope(e, event_id=uuid7(), aggregate_id=aggregate_id, occurred_at=T0 + timedelta(seconds=i),
                     actor=actor)
        for i, e in enumerate(events)
    ]
    expected = await store.last_seq(envelopes[0].aggregate, aggregate_id)
    return await store.append(envelopes, expected)


async def fetch_row(settings: Settings, table: str, id: str) -> dict[str, Any] | None:
    pool = await create_pool(settings, min_size=1, max_size=1)
    try:
        row = await pool.fetchrow(f"SELECT * FROM {table} WHERE id = $1", id)
        return dict(row) if row else None
    finally:
        await pool.close()


@pytest.mark.parametrize("copy_min_rows", [1, writer.COPY_MIN_ROWS], ids=["copy", "insert"])
async def test_task_lifecycle_and_agents_end_as_rows(
    settings: Settings, copy_min_rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # New rows go by COPY from COPY_MIN_ROWS in a batch on; 1 sends this one task's row that way too.
    monkeypatch.setattr(writer, "COPY_MIN_ROWS", copy_min_rows)
    nc, js = await connect(settings, "test")
    store = EventStore(nc, js, settings)
    task_id, agent_id = uuid7(), uuid7()
    spec = TaskCreated(
        title="summarise", description="d", prompt="p", capabilities=["llm"], model="llama3", priority=5,
        payload={"k": [1, 2]}, depends_on=["x"], max_attempts=3, timeout_s=60.0, idempotency_key="idem-1",
    )
    result = TaskResult(output="done", exit_code=0, metrics={"tokens_per_s": 12.5})
    await append(store, agent_id, [AgentRegistered(
        name="gpu-1", session_id="s1", capabilities={"llm": 0.9}, models=["llama3"], max_concurrency=2,
        executor="ollama", hardware=Hardware(hostname="h1", cpu_count=8),
    )], actor="coordinator")
    await append(store, task_id, [
        spec, TaskQueued(attempt=1), TaskAssigned(agent_id=agent_id, attempt=1),
        TaskStarted(agent_id=agent_id, attempt=1),
        TaskReportRejected(agent_id="other", attempt=0, report="completed", reason="stale"),
        TaskCompleted(agent_id=agent_id, attempt=1, result=result),
    ])
    async with running_projector(settings) as projector:
        # Half the history first, the rest while the projector is live (a later batch patches the row).
        await wait_until(lambda: projector.checkpoint >= 7, what="first events projected")
        mid = await fetch_row(settings, "tasks", task_id)
        assert mid is not None and mid["status"] == "completed"
        last = await append(store, agent_id, [AgentDeregistered(session_id="s1")], actor="coordinator")
        await wait_until(lambda: projector.checkpoint >= last, what="deregistration projected")

    task = await fetch_row(settings, "tasks", task_id)
    assert task is not None
    assert task["status"] == "completed"
    assert (task["title"], task["description"], task["prompt"]) == ("summarise", "d", "p")
    assert task["capabilities"] == ["llm"] and task["depends_on"] == ["x"]
    assert (task["model"], task["priority"], task["max_attempts"], task["timeout_s"]) == ("llama3", 5, 3, 60.0)
    assert json.loads(task["payload"]) == {"k": [1, 2]}
    assert task["idempotency_key"] == "idem-1" and task["created_by"] == "user:ada"
    assert task["attempt"] == 1 and task["assigned_agent_id"] == agent_id
    assert json.loads(task["result"]) == {"output": "done", "exit_code": 0, "metrics": {"tokens_per_s": 12.5}}
    assert task["error"] is None
    assert task["created_at"] == T0 and task["queued_at"] == T0 + timedelta(seconds=1)
    assert task["assigned_at"] == T0 + timedelta(seconds=2) and task["started_at"] == T0 + timedelta(seconds=3)
    assert task["finished_at"] == T0 + timedelta(seconds=5)
    assert task["updated_at"] == T0 + timedelta(seconds=5)
    assert task["last_seq"] == 7

    agent = await fetch_row(settings, "agents", agent_id)
    assert agent is not None
    assert agent["status"] == "offline" and agent["name"] == "gpu-1" and agent["session_id"] == "s1"
    assert json.loads(agent["capabilities"]) == {"llm": 0.9} and agent["models"] == ["llama3"]
    assert agent["max_concurrency"] == 2 and agent["executor"] == "ollama"
    assert json.loads(agent["hardware"])["hostname"] == "h1"
    assert agent["registered_at"] == T0 and agent["last_seq"] == last
    await nc.close()


async def test_patches_across_batches_and_failure_then_retry(settings: Settings) -> None:
    nc, js = await connect(settings, "test")
    store = EventStore(nc, js, settings)
    task_id = uuid7()
    async with running_projector(settings) as projector:
        seq = await append(store, task_id, [TaskCreated(title="t"), TaskQueued(attempt=1)])
        await wait_until(lambda: projector.checkpoint >= seq, what="created")
        seq = await append(store, task_id, [
            TaskAssigned(agent_id="a1", attempt=1), TaskStarted(agent_id="a1", attempt=1),
        ])
        await wait_until(lambda: projector.checkpoint >= seq, what="running")
        row = await fetch_row(settings, "tasks", task_id)
        assert row is not None and (row["status"], row["assigned_agent_id"]) == ("running", "a1")
        seq = await append(store, task_id, [
            TaskFailed(agent_id="a1", attempt=1, error="boom", retryable=True, exit_code=2, output="tail"),
        ])
        await wait_until(lambda: projector.checkpoint >= seq, what="failed")
        row = await fetch_row(settings, "tasks", task_id)
        assert row is not None and (row["status"], row["error"]) == ("failed", "boom")
        assert json.loads(row["result"])["exit_code"] == 2
        seq = await append(store, task_id, [TaskQueued(attempt=2)])
        await wait_until(lambda: projector.checkpoint >= seq, what="requeued")
    row = await fetch_row(settings, "tasks", task_id)
    assert row is not None
    assert (row["status"], row["attempt"], row["assigned_agent_id"]) == ("queued", 2, None)
    assert row["last_seq"] == seq
    await nc.close()


# Shared with the other projection tests.


def lifecycle(i: int) -> list[EventData]:
    """A task history whose end state depends on i: completed, failed, requeued or still running."""
    agent = f"agent-{i % 7}"
    events: list[EventData] = [
        TaskCreated(title=f"task {i}", priority=i % 5, payload={"i": i}, capabilities=["llm"] if i % 2 else []),
        TaskQueued(attempt=1), TaskAssigned(agent_id=agent, attempt=1), TaskStarted(agent_id=agent, attempt=1),
    ]
    match i % 4:
        case 0:
            events.append(TaskCompleted(agent_id=agent, attempt=1, result=TaskResult(output=f"out {i}")))
        case 1:
            events.append(TaskFailed(agent_id=agent, attempt=1, error=f"err {i}", exit_code=1))
        case 2:
            events.append(TaskFailed(agent_id=agent, attempt=1, error="lost", retryable=True))
            events.append(TaskQueued(attempt=2))
    return events


async def append_many_tasks(store: EventStore, first: int, count: int, chunk: int = 200) -> int:
    """Append `count` task histories, aggregates in parallel; returns the highest seq written."""
    last = 0
    for start in range(first, first + count, chunk):
        batches = []
        for i in range(start, min(start + chunk, first + count)):
            task_id = f"task-{i:06d}"
            envelopes = [
                new_envelope(e, event_id=uuid7(), aggregate_id=task_id, occurred_at=T0 + timedelta(seconds=n),
                             actor="user:bulk")
                for n, e in enumerate(lifecycle(i))
            ]
            batches.append((envelopes, 0))
        for result in await store.append_many(batches):
            assert isinstance(result, int), result
            last = max(last, result)
    return last


async def snapshot(settings: Settings, schema: str | None = None) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every read model, in key order (checkpoint's wall-clock updated_at left out)."""
    conn = await asyncpg.connect(settings.database_url)
    try:
        s = f'"{schema or settings.db_schema}"'
        return {
            "tasks": [tuple(r) for r in await conn.fetch(f"SELECT * FROM {s}.tasks ORDER BY id")],
            "agents": [tuple(r) for r in await conn.fetch(f"SELECT * FROM {s}.agents ORDER BY id")],
            "checkpoints": [
                tuple(r) for r in await conn.fetch(f"SELECT name, seq FROM {s}.projection_checkpoints ORDER BY name")
            ],
        }
    finally:
        await conn.close()
