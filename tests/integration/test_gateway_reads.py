"""GET /api/tasks and /api/agents over read-model rows written directly (the projector is not under test)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from core.ids import uuid7
from core.settings import Settings
from tests.integration.test_gateway_support import auth, gateway, insert_agent, insert_task


async def test_task_list_pages_newest_first_and_filters(settings: Settings) -> None:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    async with gateway(settings) as client:  # applies migrations
        ids = [uuid7() for _ in range(7)]
        for i, task_id in enumerate(ids):
            # Two rows share a created_at, so the id breaks the tie.
            await insert_task(settings, task_id, created_at=base + timedelta(seconds=min(i, 5)),
                              status="completed" if i % 2 else "queued", seq=i + 1)
        expected = sorted(ids, key=lambda t: (min(ids.index(t), 5), t), reverse=True)
        seen: list[str] = []
        cursor: str | None = None
        h = auth(settings, "viewer")
        while True:
            params = {"limit": "3", **({"cursor": cursor} if cursor else {})}
            page = (await client.get("/api/tasks", params=params, headers=h)).json()
            seen.extend(item["id"] for item in page["items"])
            assert len(page["items"]) <= 3
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == expected
        done = (await client.get("/api/tasks", params={"status": "completed"}, headers=h)).json()
        assert {i["id"] for i in done["items"]} == {ids[1], ids[3], ids[5]}
        assert done["next_cursor"] is None
        default = (await client.get("/api/tasks", headers=h)).json()
        assert len(default["items"]) == 7


async def test_get_task_from_read_model(settings: Settings) -> None:
    at = datetime(2026, 2, 3, 4, 5, 6, 789000, tzinfo=UTC)
    task_id = uuid7()
    async with gateway(settings) as client:
        await insert_task(settings, task_id, created_at=at, status="completed", title="done", seq=42,
                          assigned_agent_id="gpu-1", attempt=2, result={"output": "hi", "metrics": {"tps": 12.5}},
                          payload={"a": [1]}, capabilities=["llm.chat"], finished_at=at)
        resp = await client.get(f"/api/tasks/{task_id}", headers=auth(settings, "viewer"))
    assert resp.status_code == 200, resp.text
    task = resp.json()
    assert task["status"] == "completed" and task["assigned_agent_id"] == "gpu-1" and task["attempt"] == 2
    assert task["result"] == {"output": "hi", "metrics": {"tps": 12.5}}
    assert task["payload"] == {"a": [1]} and task["capabilities"] == ["llm.chat"] and task["seq"] == 42
    assert datetime.fromisoformat(task["created_at"]) == at
    assert datetime.fromisoformat(task["finished_at"]) == at
    assert task["error"] is None and task["started_at"] is None
    assert task["created_at"] == "2026-02-03T04:05:06.789000Z"


async def test_task_json_keeps_its_types_and_forms(settings: Settings) -> None:
    # Whole-second timestamps, floats that are whole numbers, deep and big JSON values, nulls.
    at = datetime(2026, 2, 3, 4, 5, 6, tzinfo=UTC)
    task_id = uuid7()
    payload = {"n": [1, 2.5, -3e-7, 10**18], "deep": {"a": {"b": [None, True, "é"]}}, "ratio": 1.10}
    async with gateway(settings) as client:
        await insert_task(settings, task_id, created_at=at, timeout_s=300.0, payload=payload, model="m",
                          depends_on=[str(uuid.UUID(int=7))], result=None, started_at=at)
        one = (await client.get(f"/api/tasks/{task_id}", headers=auth(settings, "viewer"))).json()
        listed = (await client.get("/api/tasks", headers=auth(settings, "viewer"))).json()["items"]
    assert listed == [one]
    assert one["created_at"] == one["started_at"] == "2026-02-03T04:05:06Z"
    assert one["timeout_s"] == 300.0 and isinstance(one["timeout_s"], float)
    assert one["payload"] == payload and one["model"] == "m" and one["result"] is None
    assert one["depends_on"] == [str(uuid.UUID(int=7))] and one["capabilities"] == []


async def test_get_unknown_task_is_404(settings: Settings) -> None:
    async with gateway(settings) as client:
        resp = await client.get(f"/api/tasks/{uuid7()}", headers=auth(settings, "viewer"))
    assert resp.status_code == 404
    assert "no task with id" in resp.json()["detail"]


async def test_agents_list_and_get(settings: Settings) -> None:
    async with gateway(settings) as client:
        for agent_id, status in (("gpu-c", "online"), ("gpu-a", "online"), ("gpu-b", "lost")):
            await insert_agent(settings, agent_id, status=status)
        h = auth(settings, "viewer")
        first = (await client.get("/api/agents", params={"limit": 2}, headers=h)).json()
        assert [a["id"] for a in first["items"]] == ["gpu-a", "gpu-b"]
        rest = (await client.get("/api/agents", params={"cursor": first["next_cursor"]}, headers=h)).json()
        assert [a["id"] for a in rest["items"]] == ["gpu-c"] and rest["next_cursor"] is None
        online = (await client.get("/api/agents", params={"status": "online"}, headers=h)).json()
        assert {a["id"] for a in online["items"]} == {"gpu-a", "gpu-c"}
        one = await client.get("/api/agents/gpu-b", headers=h)
        assert one.status_code == 200
        agent = one.json()
        assert agent["status"] == "lost" and agent["capabilities"] == {"llm.chat": 0.9}
        assert agent["hardware"] == {"hostname": "gpu1"} and agent["models"] == ["llama3"]
        missing = await client.get("/api/agents/nope", headers=h)
        assert missing.status_code == 404 and "nope" in missing.json()["detail"]
        assert (await client.get("/api/agents/a%00b", headers=h)).status_code == 404  # NUL: no such id, not a 500


async def test_concurrent_reads_each_get_their_own_task(settings: Settings) -> None:
    # Reads arriving together share one read-model query; each must still get its own answer.
    at = datetime(2026, 3, 1, tzinfo=UTC)
    ids = [uuid7() for _ in range(12)]
    async with gateway(settings) as client:
        for i, task_id in enumerate(ids):
            await insert_task(settings, task_id, created_at=at, title=f"t{i}", seq=i + 1)
        unknown = [uuid7() for _ in range(3)]
        asked = [*ids, *ids[:5], *unknown]  # duplicates and unknown ids in the same batch
        h = auth(settings, "viewer")
        answers = await asyncio.gather(*(client.get(f"/api/tasks/{task_id}", headers=h) for task_id in asked))
    for task_id, resp in zip(asked, answers, strict=True):
        if task_id in unknown:
            assert resp.status_code == 404, resp.text
        else:
            assert resp.status_code == 200 and resp.json()["id"] == task_id
            assert resp.json()["title"] == f"t{ids.index(task_id)}"
