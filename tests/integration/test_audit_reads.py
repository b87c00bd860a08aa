"""GET /api/audit (the audit index, filters and paging, data from the log) and the agents' and executions' histories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from core.events import new_envelope
from core.events.agent import AgentDeregistered, AgentRegistered
from core.ids import uuid7
from core.settings import Settings
from core.store.connect import connect
from core.store.event_store import EventStore
from projections.service import running_projector
from tests.helpers import wait_until
from tests.integration.test_gateway_support import auth, gateway

T0 = datetime(2030, 1, 1, tzinfo=UTC)


async def _agent_history(store: EventStore, agent_id: str) -> int:
    events = [AgentRegistered(name="gpu box", session_id="s1", capabilities={"llm": 0.5}),
              AgentDeregistered(session_id="s1", reason="shutdown")]
    envelopes = [new_envelope(e, event_id=uuid7(), aggregate_id=agent_id, occurred_at=T0 + timedelta(minutes=i),
                              actor=f"agent:{agent_id}") for i, e in enumerate(events)]
    return await store.append(envelopes, 0)


async def _all_pages(client: Any, settings: Settings, params: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await client.get("/api/audit", params={**params, **({"cursor": cursor} if cursor else {})},
                                headers=auth(settings, "viewer", "vera"))
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return items


async def test_audit_filters_and_pages_every_event(settings: Settings) -> None:
    nc, js = await connect(settings, "test-audit")
    store = EventStore(nc, js, settings)
    async with running_projector(settings) as projector, gateway(settings) as client:
        ids = []
        for who in ("alice", "bob", "alice"):
            created = await client.post("/api/tasks", json={"title": f"by {who}"}, headers=auth(settings, subject=who))
            assert created.status_code == 201, created.text
            ids.append(created.json()["id"])
        cancelled = await client.delete(f"/api/tasks/{ids[1]}", headers=auth(settings, "admin", "carol"))
        assert cancelled.status_code == 202, cancelled.text
        last = await _agent_history(store, "gpu-7")
        await wait_until(lambda: projector.checkpoint >= last, what="the audit index caught up")

        everything = await _all_pages(client, settings, {"limit": 2})
        assert [e["seq"] for e in everything] == sorted((e["seq"] for e in everything), reverse=True)
        assert len(everything) == 6 and everything[0]["seq"] == last
        by_type = {e["type"]: e for e in everything}
        assert by_type["task.cancel_requested.v1"]["actor"] == "carol"
        assert by_type["task.cancel_requested.v1"]["aggregate_id"] == ids[1]
        assert by_type["agent.registered.v1"]["data"]["name"] == "gpu box"  # the payload, read from the log

        alice = await _all_pages(client, settings, {"actor": "alice", "order": "asc", "limit": 1})
        assert [(e["aggregate_id"], e["type"]) for e in alice] == [(ids[0], "task.created.v1"),
                                                                   (ids[2], "task.created.v1")]
        assert [e["data"]["title"] for e in alice] == ["by alice", "by alice"]
        one_task = await _all_pages(client, settings, {"aggregate": "task", "aggregate_id": ids[1]})
        assert [e["type"] for e in one_task] == ["task.cancel_requested.v1", "task.created.v1"]
        agents = await _all_pages(client, settings, {"aggregate": "agent", "type": "agent.deregistered.v1"})
        assert [(e["aggregate_id"], e["data"]["reason"]) for e in agents] == [("gpu-7", "shutdown")]
        # The agent's events happened (their occurred_at) in 2030: a time window finds exactly them.
        window = await _all_pages(client, settings, {"since": "2030-01-01T00:00:00Z", "until": "2030-01-01T00:01:00"})
        assert [e["type"] for e in window] == ["agent.registered.v1"]
        assert await _all_pages(client, settings, {"actor": "nobody"}) == []

        for params, field in (({"since": "yesterday"}, "since"), ({"actor": "a\x00b"}, "actor"),
                              ({"order": "up"}, "order"), ({"cursor": "zz"}, "cursor"),
                              ({"aggregate": "Task!"}, "aggregate"), ({"limit": 0}, "limit")):
            bad = await client.get("/api/audit", params=params, headers=auth(settings, "viewer"))
            assert bad.status_code == 400, (params, bad.text)
            assert bad.json()["errors"][0]["field"] == field, bad.json()
        # The whole log is for viewers (auditors) and admins; a developer reads only what they may see.
        assert (await client.get("/api/audit", headers=auth(settings, "developer"))).status_code == 403
        assert (await client.get("/api/audit", headers=auth(settings, "admin"))).status_code == 200
    await nc.close()


async def test_agent_and_execution_histories(settings: Settings) -> None:
    nc, js = await connect(settings, "test-audit")
    store = EventStore(nc, js, settings)
    last = await _agent_history(store, "gpu-9")
    async with gateway(settings) as client:
        page = await client.get("/api/agents/gpu-9/events", params={"limit": 1}, headers=auth(settings, "viewer"))
        assert page.status_code == 200, page.text
        [first] = page.json()["items"]
        assert (first["type"], first["actor"], first["data"]["name"]) == (
            "agent.registered.v1", "agent:gpu-9", "gpu box")
        rest = await client.get("/api/agents/gpu-9/events", params={"cursor": page.json()["next_cursor"]},
                                headers=auth(settings, "viewer"))
        assert [(e["seq"], e["type"]) for e in rest.json()["items"]] == [(last, "agent.deregistered.v1")]
        assert rest.json()["next_cursor"] is None
        for path in ("/api/agents/gpu-10/events", "/api/agents/gpu.9/events", "/api/agents/*/events",
                     f"/api/executions/{uuid7()}/events", "/api/executions/a.>/events"):
            missing = await client.get(path, headers=auth(settings, "viewer"))
            assert missing.status_code == 404, (path, missing.text)
        assert (await client.get("/api/agents/gpu-9/events", headers=auth(settings, "agent"))).status_code == 403
    await nc.close()
