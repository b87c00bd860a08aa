"""`hive projections rebuild` reproduces the read models exactly, and the live service carries on after the swap."""

from __future__ import annotations

import asyncpg

from core.events.agent import AgentDeregistered, AgentRegistered
from core.events.task import TaskCompleted, TaskResult
from core.settings import Settings
from core.store.connect import connect
from core.store.event_store import EventStore
from projections.rebuild import rebuild
from projections.service import running_projector
from tests.helpers import wait_until
from tests.integration.test_projection_lifecycle import append, append_many_tasks, fetch_row, snapshot


async def schemas_like(settings: Settings) -> list[str]:
    conn = await asyncpg.connect(settings.database_url)
    try:
        rows = await conn.fetch("SELECT nspname FROM pg_namespace WHERE nspname LIKE $1", settings.db_schema + "%")
        return sorted(r["nspname"] for r in rows)
    finally:
        await conn.close()


async def test_rebuild_gives_same_tables_and_service_resumes(settings: Settings) -> None:
    nc, js = await connect(settings, "test")
    store = EventStore(nc, js, settings)
    await append(store, "agent-a", [AgentRegistered(name="a", session_id="s1", capabilities={"llm": 1.0})])
    await append(store, "agent-b", [AgentRegistered(name="b", session_id="s1", capabilities={})])
    await append(store, "agent-b", [AgentDeregistered(session_id="s1")])
    last = await append_many_tasks(store, 0, 300)
    async with running_projector(settings) as projector:
        await wait_until(lambda: projector.checkpoint >= last, what="live projection caught up")
        before = await snapshot(settings)
        assert len(before["tasks"]) == 300 and len(before["agents"]) == 2

        await rebuild(settings)

        assert await snapshot(settings) == before
        assert await schemas_like(settings) == [settings.db_schema]
        # The live projector writes into the swapped-in schema from its checkpoint on.
        seq = await append(store, "task-000003", [
            TaskCompleted(agent_id="agent-3", attempt=1, result=TaskResult(output="late")),
        ])
        await wait_until(lambda: projector.checkpoint >= seq, what="projection after the swap")
        after = await snapshot(settings)
        row = await fetch_row(settings, "tasks", "task-000003")
        assert row is not None and (row["status"], row["last_seq"]) == ("completed", seq)
        assert after["checkpoints"] == [("read_models", seq)]

        # And a second rebuild, with the service live, agrees with what the service built after the swap.
        await rebuild(settings)
        assert await snapshot(settings) == after
        seq = await append(store, "agent-a", [AgentDeregistered(session_id="s1")])
        await wait_until(lambda: projector.checkpoint >= seq, what="projection after the second swap")
    final = await snapshot(settings)
    assert [r[3] for r in final["agents"]] == ["offline", "offline"]
    await nc.close()
