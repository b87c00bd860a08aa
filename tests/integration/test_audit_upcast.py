"""Schema evolution: a log written with an old event version (a renamed field, a field not yet added) replays
through an upcaster into the same read models and the same coordinator fold as the current version's log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import msgspec

from core.audit.verify_log import messages
from core.coordinator.fleet import Fleet
from core.events import new_envelope
from core.events.codec import decode_envelope
from core.events.envelope import EventData, Recorded
from core.events.task import TaskAssigned, TaskCompleted, TaskCreated, TaskFailed, TaskQueued, TaskResult, TaskStarted
from core.events.upcast import registered
from core.ids import uuid7
from core.settings import Settings
from core.store.connect import connect
from core.store.event_store import EventStore
from projections.service import running_projector
from tests.helpers import wait_until
from tests.integration.test_projection_lifecycle import snapshot

T0 = datetime(2030, 3, 1, tzinfo=UTC)


class TaskCreatedV0(EventData, frozen=True, kw_only=True):
    """The creation event as an earlier Hive wrote it: `name` (now `title`), `caps` (now `capabilities`),
    and no `priority` or `payload` yet."""

    TYPE = "task.created.v0"
    AGGREGATE = "task"
    name: str
    prompt: str = ""
    caps: list[str] = []


class TaskStartedBeforeReportedAt(EventData, frozen=True, kw_only=True):
    """task.started.v1 before `reported_at` was added (with a default): no upcaster needed."""

    TYPE = "task.started.v1"
    AGGREGATE = "task"
    agent_id: str
    attempt: int


def _v0_to_v1(data: dict[str, Any]) -> dict[str, Any]:
    data["title"] = data.pop("name")
    data["capabilities"] = data.pop("caps", [])
    return data


def _histories(task_ids: list[str], old: bool) -> list[tuple[str, list[EventData]]]:
    out: list[tuple[str, list[EventData]]] = []
    for i, task_id in enumerate(task_ids):
        agent = f"gpu-{i % 3}"
        created: EventData = (TaskCreatedV0(name=f"job {i}", prompt="p", caps=["llm"]) if old
                              else TaskCreated(title=f"job {i}", prompt="p", capabilities=["llm"]))
        started: EventData = (TaskStartedBeforeReportedAt(agent_id=agent, attempt=1) if old
                              else TaskStarted(agent_id=agent, attempt=1))
        ended: EventData = (TaskCompleted(agent_id=agent, attempt=1, result=TaskResult(output=f"out {i}")) if i % 3
                            else TaskFailed(agent_id=agent, attempt=1, error="boom"))
        events = [created, TaskQueued(attempt=1), TaskAssigned(agent_id=agent, attempt=1), started]
        out.append((task_id, events + ([ended] if i % 4 else [])))  # every fourth is still running
    return out


async def _write(settings: Settings, histories: list[tuple[str, list[EventData]]]) -> int:
    nc, js = await connect(settings, "test-upcast")
    store = EventStore(nc, js, settings)
    last = 0
    for task_id, events in histories:
        envelopes = [new_envelope(e, event_id=f"{task_id}-{n}", aggregate_id=task_id,
                                  occurred_at=T0 + timedelta(seconds=n), actor="user:old-timer")
                     for n, e in enumerate(events)]
        last = await store.append(envelopes, 0)
    await nc.close()
    return last


async def _coordinator_fold(settings: Settings, last: int) -> dict[str, Any]:
    """The coordinator's in-memory fold (Fleet.apply) of the log, each message decoded as its reader does."""
    fleet = Fleet()
    nc, _ = await connect(settings, "test-upcast-fold", ensure=False)
    async for seq, _, _, payload in messages(nc, settings.events_stream, ">", last):
        fleet.apply(Recorded(seq=seq, envelope=decode_envelope(payload)))
    await nc.close()
    return {task_id: msgspec.to_builtins(entry) for task_id, entry in fleet.tasks.items()}


async def _read_models(settings: Settings, last: int) -> dict[str, list[tuple[Any, ...]]]:
    async with running_projector(settings) as projector:
        await wait_until(lambda: projector.checkpoint >= last, what=f"{settings.db_schema} projected")
    return await snapshot(settings)


async def test_an_old_log_replays_into_the_same_read_models(settings: Settings) -> None:
    old = msgspec.structs.replace(settings, prefix=settings.prefix + "o", db_schema=settings.db_schema + "_o")
    task_ids = [uuid7() for _ in range(12)]
    try:
        last = await _write(settings, _histories(task_ids, old=False))
        assert await _write(old, _histories(task_ids, old=True)) == last  # same events, same sequences
        current_rows, current_fold = await _read_models(settings, last), await _coordinator_fold(settings, last)
        with registered("task.created.v0", "task.created.v1", _v0_to_v1):
            old_rows, old_fold = await _read_models(old, last), await _coordinator_fold(old, last)
        assert len(current_rows["tasks"]) == 12 and {r[12] for r in current_rows["tasks"]} == {
            "completed", "failed", "running"}
        assert old_rows == current_rows
        assert old_fold == current_fold and len(old_fold) == 12
        # Without the upcaster the old creations are unknown: the read model has no such tasks.
        fresh = msgspec.structs.replace(old, db_schema=settings.db_schema + "_n")
        try:
            assert (await _read_models(fresh, last))["tasks"] == []
        finally:
            await _drop_schema(fresh)
    finally:
        nc, js = await connect(settings, "cleanup", ensure=False)
        for name in (old.events_stream, old.dispatch_stream, old.reports_stream):
            try:
                await js.delete_stream(name)
            except Exception:
                pass
        await nc.close()
        await _drop_schema(old)


async def _drop_schema(settings: Settings) -> None:
    conn = await asyncpg.connect(settings.database_url)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{settings.db_schema}" CASCADE')
    finally:
        await conn.close()
