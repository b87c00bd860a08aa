"""GET /api/tasks/{id}?as_of= and /api/agents/{id}?as_of=: the resource as it was, folded from the log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from core.events import new_envelope
from core.events.agent import AgentDeregistered, AgentDrainRequested, AgentRegistered
from core.events.envelope import EventData
from core.events.task import TaskAssigned, TaskCompleted, TaskCreated, TaskQueued, TaskResult
from core.ids import uuid7
from core.settings import Settings
from core.store.connect import connect
from core.store.event_store import EventStore
from projections.service import running_projector
from tests.helpers import wait_until
from tests.integration.test_gateway_support import auth, gateway
from tests.integration.test_gateway_workflows import SIMPLE

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def _at(s: float) -> str:
    return (T0 + timedelta(seconds=s)).isoformat()


async def _history(store: EventStore, aggregate_id: str, events: list[EventData]) -> list[int]:
    """Appends the events one second apart from T0; their seqs."""
    seqs, last = [], 0
    for i, e in enumerate(events):
        env = new_envelope(e, event_id=uuid7(), aggregate_id=aggregate_id, occurred_at=T0 + timedelta(seconds=i),
                           actor="test")
        last = await store.append([env], last)
        seqs.append(last)
    return seqs


async def test_task_and_agent_as_they_were(settings: Settings) -> None:
    nc, js = await connect(settings, "test-as-of")
    store = EventStore(nc, js, settings)
    task_id = uuid7()
    seqs = await _history(store, task_id, [
        TaskCreated(title="travel"), TaskQueued(attempt=1), TaskAssigned(agent_id="gpu-1", attempt=1),
    ])
    # The agent's events land between the task's assignment and its completion.
    agent_seqs = await _history(store, "gpu-1", [
        AgentRegistered(name="one", session_id="s1", capabilities={"llm": 1.0}), AgentDrainRequested(session_id="s1"),
        AgentDeregistered(session_id="s1"),
    ])
    done = new_envelope(TaskCompleted(agent_id="gpu-1", attempt=1, result=TaskResult(output="done")), event_id=uuid7(),
                        aggregate_id=task_id, occurred_at=T0 + timedelta(seconds=3), actor="test")
    seqs.append(await store.append([done], seqs[-1]))
    async with running_projector(settings) as projector, gateway(settings) as client:
        await wait_until(lambda: projector.checkpoint >= seqs[-1], what="read models caught up")
        viewer = auth(settings, "viewer")

        async def task(as_of: str | int) -> dict[str, object]:
            resp = await client.get(f"/api/tasks/{task_id}", params={"as_of": as_of}, headers=viewer)
            assert resp.status_code == 200, (as_of, resp.text)
            return dict(resp.json())

        now = await client.get(f"/api/tasks/{task_id}", headers=viewer)
        assert now.json()["status"] == "completed"  # the read model
        assert (await task(seqs[1]))["status"] == "queued"
        assert (await task(seqs[1]))["seq"] == seqs[1]
        assigned = await task(_at(2.5))
        assert (assigned["status"], assigned["assigned_agent_id"], assigned["result"]) == ("assigned", "gpu-1", None)
        assert (await task(seqs[2] + 1))["status"] == "assigned"  # a sequence between two of its events
        assert (await task(_at(3)))["result"] == {"output": "done", "exit_code": None, "metrics": {}}
        assert (await task("2030-01-01T00:00:00"))["status"] == "pending"  # no offset: UTC

        for as_of in (seqs[0] - 1, _at(-0.001)):
            before = await client.get(f"/api/tasks/{task_id}", params={"as_of": as_of}, headers=viewer)
            assert before.status_code == 404, before.text
        for as_of in ("last tuesday", "-3", "1e3"):
            bad = await client.get(f"/api/tasks/{task_id}", params={"as_of": as_of}, headers=viewer)
            assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "as_of", bad.text

        drained = await client.get("/api/agents/gpu-1", params={"as_of": _at(1.5)}, headers=viewer)
        assert drained.status_code == 200, drained.text
        assert (drained.json()["status"], drained.json()["seq"], drained.json()["capabilities"]) == (
            "draining", agent_seqs[1], {"llm": 1.0})
        assert (await client.get("/api/agents/gpu-1", headers=viewer)).json()["status"] == "offline"
        online = await client.get("/api/agents/gpu-1", params={"as_of": agent_seqs[0]}, headers=viewer)
        assert online.json()["status"] == "online" and online.json()["hardware"]["cpu_count"] == 0
        for path, as_of in (("/api/agents/gpu-1", agent_seqs[0] - 1), ("/api/agents/gpu.1", _at(5)),
                            ("/api/agents/nobody", _at(5))):
            missing = await client.get(path, params={"as_of": as_of}, headers=viewer)
            assert missing.status_code == 404, (path, missing.text)
    await nc.close()


async def test_workflow_and_execution_as_they_were(settings: Settings) -> None:
    dev = auth(settings, "developer", "dev-1")
    async with gateway(settings) as client:
        first = (await client.post("/api/workflows", json=SIMPLE, headers=dev)).json()
        second = await client.put(f"/api/workflows/{first['id']}", json={**SIMPLE, "name": "renamed"}, headers=dev)
        assert second.status_code == 200, second.text
        run = await client.post(f"/api/workflows/{first['id']}/execute", json={"items": [{"q": "hi"}]}, headers=dev)
        assert run.status_code == 202, run.text
        execution = run.json()
        cancel = await client.delete(f"/api/executions/{execution['id']}", headers=dev)
        assert cancel.status_code == 202, cancel.text

        async def get(path: str, as_of: int) -> dict[str, Any]:
            resp = await client.get(path, params={"as_of": as_of}, headers=dev)
            assert resp.status_code == 200, resp.text
            return dict(resp.json())

        was = await get(f"/api/workflows/{first['id']}", first["seq"])
        assert (was["version"], was["name"], was["seq"]) == (1, "simple", first["seq"])
        assert (await get(f"/api/workflows/{first['id']}", second.json()["seq"]))["name"] == "renamed"
        before_cancel = await get(f"/api/executions/{execution['id']}", execution["seq"])
        assert (before_cancel["cancel_requested_at"], before_cancel["workflow_version"]) == (None, 2)
        assert (await get(f"/api/executions/{execution['id']}", cancel.json()["seq"]))["cancel_requested_at"]
        for path, seq in ((f"/api/workflows/{first['id']}", first["seq"] - 1),
                          (f"/api/executions/{execution['id']}", execution["seq"] - 1)):
            assert (await client.get(path, params={"as_of": seq}, headers=dev)).status_code == 404
        history = await client.get(f"/api/executions/{execution['id']}/events", headers=dev)
        assert history.status_code == 200, history.text
        assert [e["seq"] for e in history.json()["items"]] == [execution["seq"], cancel.json()["seq"]]
        assert history.json()["items"][1]["actor"] == "dev-1"
