"""POST /api/tasks against real NATS and PostgreSQL: events stored, idempotency, read-your-writes."""

from __future__ import annotations

import asyncio
import uuid

from core.events.task import TaskCreated
from core.ids import idempotent_task_id
from core.settings import Settings
from core.store.connect import connect
from core.store.event_store import EventStore
from tests.helpers import wait_until
from tests.integration.test_gateway_support import auth, gateway


async def _history(settings: Settings, task_id: str) -> list[TaskCreated]:
    nc, js = await connect(settings, "test-reader", ensure=False)
    try:
        return [r.envelope.data for r in await EventStore(nc, js, settings).load("task", task_id)]
    finally:
        await nc.close()


async def test_create_task_stores_exactly_one_event(settings: Settings) -> None:
    body = {"title": "summarise", "prompt": "hello", "capabilities": ["llm.chat"], "priority": 5, "payload": {"k": 1}}
    async with gateway(settings) as client:
        resp = await client.post("/api/tasks", json=body, headers={**auth(settings), "X-Request-Id": "req-1"})
        assert resp.status_code == 201, resp.text
        task = resp.json()
        assert task["status"] == "pending"
        assert task["seq"] >= 1
        assert task["title"] == "summarise" and task["priority"] == 5 and task["payload"] == {"k": 1}
        assert task["created_by"] == "alice" and task["created_at"]
        assert resp.headers["location"] == f"/api/tasks/{task['id']}"
        assert resp.headers["x-request-id"] == "req-1"
        events = await _history(settings, task["id"])
        assert len(events) == 1 and isinstance(events[0], TaskCreated)
        assert events[0].title == "summarise" and events[0].capabilities == ["llm.chat"]
        # Not projected yet (no projector here): the gateway answers from the event log.
        got = await client.get(f"/api/tasks/{task['id']}", headers=auth(settings, "viewer"))
        assert got.status_code == 200
        assert got.json()["id"] == task["id"] and got.json()["status"] == "pending"


async def test_idempotency_key_retries_return_the_same_task(settings: Settings) -> None:
    body = {"title": "once", "max_attempts": 3}
    headers = {**auth(settings), "Idempotency-Key": "k-123"}
    async with gateway(settings) as client:
        first = await client.post("/api/tasks", json=body, headers=headers)
        assert first.status_code == 201, first.text
        retries = [await client.post("/api/tasks", json=body, headers=headers) for _ in range(3)]
        for resp in retries:
            assert resp.status_code == 200, resp.text
            assert resp.headers["idempotent-replayed"] == "true"
            assert resp.json()["id"] == first.json()["id"]
            assert resp.json()["max_attempts"] == 3
    assert first.json()["id"] == idempotent_task_id("alice", "k-123")
    assert len(await _history(settings, first.json()["id"])) == 1


async def test_concurrent_idempotent_posts_store_one_event(settings: Settings) -> None:
    body = {"title": "race", "payload": {"b": 2, "a": [1, 2]}}
    headers = {**auth(settings), "Idempotency-Key": "race-key"}
    async with gateway(settings) as client:
        answers = await asyncio.gather(*(client.post("/api/tasks", json=body, headers=headers) for _ in range(8)))
    assert sorted(a.status_code for a in answers) == [200] * 7 + [201], [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    assert len(await _history(settings, answers[0].json()["id"])) == 1


async def test_same_key_equivalent_body_is_a_replay(settings: Settings) -> None:
    # Key order and spelled-out defaults do not change the request: the digest is of the canonical form.
    headers = {**auth(settings), "Idempotency-Key": "canon"}
    async with gateway(settings) as client:
        a = await client.post("/api/tasks", content=b'{"title":"x","payload":{"a":1,"b":2}}', headers=headers)
        b = await client.post("/api/tasks", content=b'{"payload":{"b":2,"a":1},"priority":0,"title":"x"}',
                              headers=headers)
    assert (a.status_code, b.status_code) == (201, 200)


async def test_same_key_other_body_conflicts(settings: Settings) -> None:
    headers = {**auth(settings), "Idempotency-Key": "k-1"}
    async with gateway(settings) as client:
        assert (await client.post("/api/tasks", json={"title": "a"}, headers=headers)).status_code == 201
        resp = await client.post("/api/tasks", json={"title": "b"}, headers=headers)
        assert resp.status_code == 409
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert "Idempotency-Key" in resp.json()["detail"]
        # The same key from another caller is another task.
        other = await client.post("/api/tasks", json={"title": "b"}, headers={**auth(settings, subject="bob"),
                                                                             "Idempotency-Key": "k-1"})
        assert other.status_code == 201


async def test_depends_on_existing_tasks(settings: Settings) -> None:
    async with gateway(settings) as client:
        parent = (await client.post("/api/tasks", json={"title": "p"}, headers=auth(settings))).json()
        resp = await client.post("/api/tasks", json={"title": "c", "depends_on": [parent["id"]]},
                                 headers=auth(settings))
        assert resp.status_code == 201, resp.text
        assert resp.json()["depends_on"] == [parent["id"]]
        unknown = str(uuid.uuid4())
        bad = await client.post("/api/tasks", json={"title": "c", "depends_on": [parent["id"], unknown]},
                                headers=auth(settings))
        assert bad.status_code == 400
        assert bad.json()["errors"] == [{"field": "$.depends_on[1]", "message": f"no task with id {unknown}"}]


async def test_created_task_reaches_the_read_model_via_the_projector(settings: Settings) -> None:
    from projections.service import run_projections

    stop = asyncio.Event()
    async with gateway(settings) as client:
        projecting = asyncio.create_task(run_projections(settings, stop))
        try:
            created = await client.post("/api/tasks", json={"title": "projected", "payload": {"n": 1}},
                                        headers=auth(settings))
            assert created.status_code == 201
            task_id = created.json()["id"]

            async def listed() -> list[dict[str, object]]:
                page = (await client.get("/api/tasks", headers=auth(settings, "viewer"))).json()
                return [t for t in page["items"] if t["id"] == task_id]

            (row,) = await wait_until(listed, what="task in the read model")
            assert row["title"] == "projected" and row["payload"] == {"n": 1} and row["created_by"] == "alice"
            assert row["seq"] >= created.json()["seq"]
        finally:
            stop.set()
            await asyncio.wait_for(projecting, 30)

