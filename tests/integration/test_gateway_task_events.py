"""GET /api/tasks/{id}/events: the task's history from the log, with seq and actor, paged by cursor."""

from __future__ import annotations

from datetime import UTC, datetime

from core.events import new_envelope
from core.events.task import TaskQueued
from core.ids import uuid7
from core.settings import Settings
from core.store.connect import connect
from core.store.event_store import EventStore
from tests.integration.test_gateway_support import auth, gateway


async def test_task_history_pages_oldest_first(settings: Settings) -> None:
    async with gateway(settings) as client:
        created = await client.post("/api/tasks", json={"title": "audited"}, headers=auth(settings, subject="carol"))
        assert created.status_code == 201, created.text
        task_id, seq = created.json()["id"], created.json()["seq"]
        nc, js = await connect(settings, "test-events")
        try:
            queued = new_envelope(TaskQueued(attempt=1), event_id=uuid7(), aggregate_id=task_id,
                                  occurred_at=datetime.now(UTC), actor="coordinator")
            last = await EventStore(nc, js, settings).append([queued], seq)
        finally:
            await nc.drain()
        first = await client.get(f"/api/tasks/{task_id}/events", params={"limit": 1}, headers=auth(settings, "viewer"))
        assert first.status_code == 200, first.text
        [event] = first.json()["items"]
        assert (event["seq"], event["type"], event["actor"]) == (seq, "task.created.v1", "carol")
        assert event["data"]["title"] == "audited" and event["correlation_id"]
        rest = await client.get(f"/api/tasks/{task_id}/events", params={"cursor": first.json()["next_cursor"]},
                                headers=auth(settings, "viewer"))
        assert [(e["seq"], e["type"], e["actor"], e["data"]) for e in rest.json()["items"]] == [
            (last, "task.queued.v1", "coordinator", {"attempt": 1})]
        assert rest.json()["next_cursor"] is None
        unknown = await client.get(f"/api/tasks/{uuid7()}/events", headers=auth(settings, "viewer"))
        assert unknown.status_code == 404
        bad = await client.get(f"/api/tasks/{task_id}/events", params={"cursor": "zz"}, headers=auth(settings))
        assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "cursor"
        assert (await client.get(f"/api/tasks/{task_id}/events", headers=auth(settings, "agent"))).status_code == 403
