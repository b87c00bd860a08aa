"""`hive audit task|agent ID`: the history from the log as a timeline or JSON, without the gateway."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from core.events import new_envelope
from core.events.agent import AgentRegistered
from core.events.task import TaskAssigned, TaskCreated, TaskQueued
from core.ids import uuid7
from core.settings import Settings
from core.store.connect import connect
from core.store.event_store import EventStore
from tests.integration.hive_cli import run_hive

T0 = datetime(2031, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)


async def test_task_timeline_and_json(settings: Settings) -> None:
    nc, js = await connect(settings, "test-audit-cli")
    store = EventStore(nc, js, settings)
    task_id = uuid7()
    events = [(TaskCreated(title="nightly report", capabilities=["llm"]), "alice"),
              (TaskQueued(attempt=1), "coordinator"), (TaskAssigned(agent_id="gpu-1", attempt=1), "coordinator")]
    envelopes = [new_envelope(e, event_id=uuid7(), aggregate_id=task_id, occurred_at=T0 + timedelta(seconds=i),
                              actor=actor) for i, (e, actor) in enumerate(events)]
    last = await store.append(envelopes, 0)
    await store.append([new_envelope(AgentRegistered(name="g", session_id="s", capabilities={}), event_id=uuid7(),
                                     aggregate_id="gpu-1", occurred_at=T0, actor="coordinator")], 0)
    await nc.close()

    status, out, err = await run_hive(settings, "audit", "task", task_id)
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0] == f"task {task_id}: 3 events"
    assert "2031-05-06 07:08:09.123Z" in lines[1] and "alice" in lines[1] and "task.created.v1" in lines[1]
    assert 'title="nightly report"' in lines[1] and 'capabilities=["llm"]' in lines[1]
    assert f"#{last}" in lines[3] and 'agent_id="gpu-1"' in lines[3] and "coordinator" in lines[3]

    status, out, err = await run_hive(settings, "audit", "task", task_id, "--json")
    assert status == 0, err
    history = json.loads(out)
    assert [(e["type"], e["actor"]) for e in history] == [
        ("task.created.v1", "alice"), ("task.queued.v1", "coordinator"), ("task.assigned.v1", "coordinator")]
    assert history[-1]["seq"] == last and history[0]["data"]["title"] == "nightly report"
    assert history[0]["occurred_at"] == "2031-05-06T07:08:09.123000+00:00"

    status, out, _ = await run_hive(settings, "audit", "agent", "gpu-1")
    assert status == 0 and "agent.registered.v1" in out
    status, out, _ = await run_hive(settings, "audit", "task", uuid7())
    assert status == 1 and "no task with id" in out
    status, _, err = await run_hive(settings, "audit", "task", "a.>")
    assert status == 2 and "not an id" in err
