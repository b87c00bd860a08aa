"""POST /api/tasks/batch against real NATS and PostgreSQL: order, all-or-nothing validation, idempotency, 503s."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import nats.errors

from core.events.envelope import Envelope
from core.events.task import TaskCreated
from core.ids import idempotent_task_id
from core.settings import Settings
from core.store.connect import connect
from core.store.event_store import EventStore
from gateway.services import Services
from tests.integration.test_gateway_support import auth, gateway


async def _stored(settings: Settings) -> dict[str, list[TaskCreated]]:
    """Every TaskCreated in the events stream, by task id."""
    nc, js = await connect(settings, "test-reader", ensure=False)
    try:
        store = EventStore(nc, js, settings)
        info = await js.stream_info(settings.events_stream)
        out: dict[str, list[TaskCreated]] = {}
        for seq in range(info.state.first_seq, info.state.last_seq + 1) if info.state.messages else ():
            msg = await js.get_msg(settings.events_stream, seq)
            task_id = msg.subject.rsplit(".", 1)[1]
            out.setdefault(task_id, [])
        for task_id in out:
            out[task_id] = [r.envelope.data for r in await store.load("task", task_id)]
        return out
    finally:
        await nc.close()


def _tasks(n: int, **extra: Any) -> list[dict[str, Any]]:
    return [{"title": f"t{i}", "prompt": str(i), **extra} for i in range(n)]


async def test_batch_creates_every_task_once_in_order(settings: Settings) -> None:
    async with gateway(settings) as client:
        resp = await client.post("/api/tasks/batch", json={"tasks": _tasks(25, capabilities=["echo"])},
                                 headers={**auth(settings), "X-Request-Id": "batch-1"})
    assert resp.status_code == 201, resp.text
    items = resp.json()["items"]
    assert [t["title"] for t in items] == [f"t{i}" for i in range(25)]
    assert all(t["status"] == "pending" and t["created_by"] == "alice" for t in items)
    assert [t["seq"] for t in items] == sorted(t["seq"] for t in items)  # appended in the order sent
    assert "idempotent-replayed" not in resp.headers
    stored = await _stored(settings)
    assert set(stored) == {t["id"] for t in items}
    assert all(len(events) == 1 and events[0].capabilities == ["echo"] for events in stored.values())


async def test_one_bad_item_fails_the_batch_and_stores_nothing(settings: Settings) -> None:
    tasks = _tasks(5)
    tasks[3]["priority"] = "high"
    cases: list[tuple[Any, str]] = [
        ({"tasks": tasks}, "$.tasks[3].priority"),
        ({"tasks": [*_tasks(2), {"prompt": "no title"}]}, "$.tasks[2].title"),
        ({"tasks": [{"title": "a", "capabilities": ["x", "x"]}]}, "$.tasks[0].capabilities[1]"),
        ({"tasks": [{"title": "  "}]}, "$.tasks[0].title"),
        ({"tasks": []}, "$.tasks"),
        ({"tasks": _tasks(1001)}, "$.tasks"),
        ({"task": _tasks(1)}, "$.task"),
        ({}, "$.tasks"),
    ]
    async with gateway(settings) as client:
        for body, field in cases:
            resp = await client.post("/api/tasks/batch", json=body, headers=auth(settings))
            assert resp.status_code == 400, (field, resp.text)
            assert resp.headers["content-type"].startswith("application/problem+json")
            assert resp.json()["errors"][0]["field"] == field, resp.text
        empty = await client.post("/api/tasks/batch", content=b"", headers=auth(settings))
        assert empty.status_code == 400 and empty.json()["errors"][0]["field"] == "$"
        viewer = await client.post("/api/tasks/batch", json={"tasks": _tasks(1)}, headers=auth(settings, "viewer"))
        assert viewer.status_code == 403
    assert await _stored(settings) == {}


async def test_dependencies_may_name_stored_tasks_and_earlier_items(settings: Settings) -> None:
    async with gateway(settings) as client:
        parent = (await client.post("/api/tasks", json={"title": "p"}, headers=auth(settings))).json()["id"]
        ids = [idempotent_task_id("alice", f"deps#{i}") for i in range(3)]
        unknown = str(uuid.uuid4())
        bad = [{"title": "a", "depends_on": [parent]}, {"title": "b", "depends_on": [unknown]},
               {"title": "c", "depends_on": [ids[2]]}]
        resp = await client.post("/api/tasks/batch", json={"tasks": bad}, headers={**auth(settings),
                                                                                   "Idempotency-Key": "deps"})
        assert resp.status_code == 400, resp.text
        assert [e["field"] for e in resp.json()["errors"]] == ["$.tasks[1].depends_on[0]", "$.tasks[2].depends_on[0]"]
        good = [{"title": "a", "depends_on": [parent]}, {"title": "b", "depends_on": [ids[0], parent]},
                {"title": "c", "depends_on": [ids[1]]}]
        resp = await client.post("/api/tasks/batch", json={"tasks": good}, headers={**auth(settings),
                                                                                    "Idempotency-Key": "deps"})
        assert resp.status_code == 201, resp.text
        assert [t["id"] for t in resp.json()["items"]] == ids
        assert resp.json()["items"][1]["depends_on"] == [ids[0], parent]


async def test_idempotency_key_makes_a_retried_batch_return_the_same_tasks(settings: Settings) -> None:
    headers = {**auth(settings), "Idempotency-Key": "nightly"}
    async with gateway(settings) as client:
        # Item 1 was sent alone before with the key the batch gives it: it is the same task.
        alone = await client.post("/api/tasks", json=_tasks(3)[1], headers={**auth(settings),
                                                                           "Idempotency-Key": "nightly#1"})
        assert alone.status_code == 201
        first = await client.post("/api/tasks/batch", json={"tasks": _tasks(3)}, headers=headers)
        again = await client.post("/api/tasks/batch", json={"tasks": _tasks(3)}, headers=headers)
        other = await client.post("/api/tasks/batch", json={"tasks": _tasks(4, priority=1)}, headers=headers)
    assert first.status_code == 201 and "idempotent-replayed" not in first.headers
    ids = [t["id"] for t in first.json()["items"]]
    assert ids == [idempotent_task_id("alice", f"nightly#{i}") for i in range(3)]
    assert ids[1] == alone.json()["id"]
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert [t["id"] for t in again.json()["items"]] == ids
    # Same key, different tasks: items 0-2 differ from what is stored, item 3 is new (and created).
    assert other.status_code == 409, other.text
    assert [e["field"] for e in other.json()["errors"]] == ["$.tasks[0]", "$.tasks[1]", "$.tasks[2]"]
    assert other.json()["created"] == [idempotent_task_id("alice", "nightly#3")]
    stored = await _stored(settings)
    assert all(len(stored[task_id]) == 1 for task_id in ids)


class _FlakyStore:
    """The real store, except that appends of odd positions in a batch time out without being stored."""

    def __init__(self, store: EventStore) -> None:
        self.real = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    async def append_many(self, batches: Sequence[tuple[Sequence[Envelope[Any]], int]],
                          headers: dict[str, str] | None = None) -> list[int | BaseException]:
        even = await self.real.append_many(batches[::2], headers)
        return [even[i // 2] if i % 2 == 0 else nats.errors.TimeoutError() for i in range(len(batches))]


async def test_a_partly_stored_batch_is_503_naming_what_was_created(settings: Settings) -> None:
    headers = {**auth(settings), "Idempotency-Key": "flaky"}
    async with gateway(settings) as client:
        services = client.app.state["services"]
        assert isinstance(services, Services)
        real = services.store
        services.store = _FlakyStore(real)  # type: ignore[assignment]
        try:
            partial = await client.post("/api/tasks/batch", json={"tasks": _tasks(5)}, headers=headers)
        finally:
            services.store = real
        retried = await client.post("/api/tasks/batch", json={"tasks": _tasks(5)}, headers=headers)
    ids = [idempotent_task_id("alice", f"flaky#{i}") for i in range(5)]
    assert partial.status_code == 503, partial.text
    assert partial.headers["content-type"].startswith("application/problem+json")
    assert partial.json()["created"] == [ids[0], ids[2], ids[4]]
    assert [e["field"] for e in partial.json()["errors"]] == ["$.tasks[1]", "$.tasks[3]"]
    assert retried.status_code == 201, retried.text
    assert [t["id"] for t in retried.json()["items"]] == ids
    stored = await _stored(settings)
    assert set(stored) == set(ids) and all(len(events) == 1 for events in stored.values())


async def test_batch_body_may_exceed_the_single_task_limit(settings: Settings) -> None:
    async with gateway(settings) as client:
        big = await client.post("/api/tasks/batch", json={"tasks": _tasks(600, prompt="p" * 4000)},
                                headers=auth(settings))
        assert big.status_code == 201, big.text[:300]
        assert len(big.json()["items"]) == 600
        huge = await client.post("/api/tasks/batch", content=b"x" * (17 * 1024 * 1024),
                                 headers={**auth(settings), "Content-Type": "application/json"})
        assert huge.status_code == 413
