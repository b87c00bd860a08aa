"""PUT /api/tasks/{id}/assign: a pinned task runs on its agent even where placement would pick another, and a
pin the agent cannot honour is a 409 saying why. Real NATS, PostgreSQL, coordinator, projector, gateway, sidecars."""

from __future__ import annotations

from core.settings import Settings
from tests.fakes.gated_executor import GatedExecutor
from tests.helpers import wait_until
from tests.integration.fleet_stack import fleet
from tests.integration.test_gateway_support import auth, insert_agent


async def test_a_pinned_task_runs_on_its_agent_although_another_would_win(settings: Settings) -> None:
    async with fleet(settings) as f:
        gated_a, gated_b = GatedExecutor(), GatedExecutor()
        a = await f.sidecar(gated_a, capabilities={"echo": 1.0})
        b = await f.sidecar(gated_b, capabilities={"echo": 0.3})
        blocker = await f.create(capabilities=["echo"])
        await wait_until(lambda: gated_a.started == [blocker["id"]], what="the blocker on a (the better agent)")
        task = await f.create(capabilities=["echo"], depends_on=[blocker["id"]])

        resp = await f.client.put(f"/api/tasks/{task['id']}/assign", json={"agent_id": b.agent_id},
                                  headers=auth(settings, "admin"))
        assert resp.status_code == 202, resp.text
        assert (resp.json()["status"], resp.json()["pinned_agent_id"]) == ("pending", b.agent_id)
        assert resp.json()["seq"] > task["seq"]
        # Both agents are free once the blocker is done, and a scores higher: the pin sends the task to b.
        gated_a.release(blocker["id"])
        await wait_until(lambda: task["id"] in gated_b.started, what="the pinned task on b")
        running = await f.reaches(task["id"], "running")
        assert (running["assigned_agent_id"], running["pinned_agent_id"]) == (b.agent_id, b.agent_id)
        assert "task.pinned.v1" in await f.event_types(task["id"])
        # Meanwhile placement as usual still prefers a.
        free = await f.create(capabilities=["echo"])
        await wait_until(lambda: free["id"] in gated_a.started, what="an unpinned task on a")

        # Placed already: too late to pin.
        late = await f.client.put(f"/api/tasks/{task['id']}/assign", json={"agent_id": a.agent_id},
                                  headers=auth(settings, "admin"))
        assert late.status_code == 409, late.text
        assert late.json()["detail"] == (f"task {task['id']} is running: only a pending or queued task can be "
                                         "assigned")
        gated_b.release(task["id"])
        await f.reaches(task["id"], "completed")


async def test_a_queued_task_waits_for_its_pinned_agent(settings: Settings) -> None:
    async with fleet(settings) as f:
        gated_a, gated_b = GatedExecutor(), GatedExecutor()
        a = await f.sidecar(gated_a)
        b = await f.sidecar(gated_b)
        busy = await f.create(capabilities=["echo"])
        other = await f.create(capabilities=["echo"])
        await wait_until(lambda: len(gated_a.started) + len(gated_b.started) == 2, what="both agents busy")
        on_b = busy["id"] if busy["id"] in gated_b.started else other["id"]
        on_a = other["id"] if on_b == busy["id"] else busy["id"]
        task = await f.create(capabilities=["echo"])
        await f.reaches(task["id"], "queued")
        resp = await f.client.put(f"/api/tasks/{task['id']}/assign", json={"agent_id": b.agent_id},
                                  headers=auth(settings, "admin"))
        assert resp.status_code == 202, resp.text
        # a frees up first: the task does not go there, it waits for b.
        gated_a.release(on_a)
        await f.reaches(on_a, "completed")
        assert (await f.task(task["id"]))["status"] == "queued"
        assert task["id"] not in gated_a.started
        gated_b.release(on_b)
        await wait_until(lambda: task["id"] in gated_b.started, what="the pinned task on b")
        assert a.agent_id != b.agent_id


async def test_a_pin_the_agent_cannot_honour_is_a_conflict(settings: Settings) -> None:
    async with fleet(settings) as f:
        task = await f.create(capabilities=["echo"], model="llama3")
        await f.reaches(task["id"], "queued")
        # Rows as the agents read model would hold them (capability llm.chat, model llama3).
        await insert_agent(settings, "gone", status="offline")
        await insert_agent(settings, "leaving", status="draining")
        await insert_agent(settings, "chatty")
        path = f"/api/tasks/{task['id']}/assign"
        cases = {
            "nobody": "no agent with id 'nobody' is registered",
            "gone": "agent gone is offline: it takes no new work",
            "leaving": "agent leaving is draining: it takes no new work",
            "chatty": f"agent chatty cannot run task {task['id']}: it lacks the capability echo",
        }
        for agent_id, detail in cases.items():
            resp = await f.client.put(path, json={"agent_id": agent_id}, headers=auth(settings, "admin"))
            assert resp.status_code == 409, (agent_id, resp.text)
            assert resp.json()["detail"].startswith(detail), resp.json()
        assert "task.pinned.v1" not in await f.event_types(task["id"])

        # Only admins pin; the body is checked; the task must exist.
        assert (await f.client.put(path, json={"agent_id": "chatty"})).status_code == 401
        developer = await f.client.put(path, json={"agent_id": "chatty"}, headers=auth(settings, "developer"))
        assert developer.status_code == 403 and "tasks.assign" in developer.json()["detail"]
        bad = await f.client.put(path, json={"agent_id": "no spaces"}, headers=auth(settings, "admin"))
        assert bad.status_code == 400, bad.text
        unknown = await f.client.put("/api/tasks/01900000-0000-7000-8000-000000000000/assign",
                                     json={"agent_id": "chatty"}, headers=auth(settings, "admin"))
        assert unknown.status_code == 404, unknown.text
