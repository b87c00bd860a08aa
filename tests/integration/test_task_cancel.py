"""DELETE /api/tasks/{id}: a task no agent holds is cancelled at once; a running one is stopped on its agent
(its process group killed) and ends `cancelled`; an ended one is a 409. Real NATS, PostgreSQL, coordinator,
projector, gateway and sidecar, in this process."""

from __future__ import annotations

from pathlib import Path

from core.settings import Settings
from tests.helpers import pid_alive as alive, wait_until
from tests.integration.fleet_stack import fleet
from tests.integration.test_gateway_support import auth

# Writes its pid to the file named by the prompt, then sleeps (the same process: exec).
SLEEPER = {"type": "command", "argv": ["sh", "-c", 'echo $$ > "$0"; exec sleep 60', "{prompt}"], "stdin": "none",
           "kill_grace_s": 5.0}


async def test_a_queued_task_is_cancelled_at_once_and_its_dependent_fails(settings: Settings) -> None:
    async with fleet(settings) as f:
        parent = await f.create(capabilities=["nobody-has-this"])
        await f.reaches(parent["id"], "queued")
        child = await f.create(depends_on=[parent["id"]])
        pending = await f.create(depends_on=[parent["id"]])

        resp = await f.client.delete(f"/api/tasks/{pending['id']}", headers=auth(settings, "developer", "bob"))
        assert resp.status_code == 202, resp.text
        assert resp.json()["cancel_requested_at"] is not None and resp.json()["seq"] > pending["seq"]
        await f.reaches(pending["id"], "cancelled")
        assert await f.event_types(pending["id"]) == ["task.created.v1", "task.cancel_requested.v1",
                                                      "task.cancelled.v1"]

        resp = await f.client.delete(f"/api/tasks/{parent['id']}", headers=auth(settings, "admin", "root"))
        assert resp.status_code == 202, resp.text
        cancelled = await f.reaches(parent["id"], "cancelled")
        assert cancelled["error"] == "cancelled on request before it ran" and cancelled["finished_at"]
        assert cancelled["assigned_agent_id"] is None and cancelled["result"] is None
        assert await f.event_types(parent["id"]) == ["task.created.v1", "task.queued.v1", "task.cancel_requested.v1",
                                                     "task.cancelled.v1"]
        events = (await f.client.get(f"/api/tasks/{parent['id']}/events", headers=auth(settings, "viewer"))).json()
        assert events["items"][2]["actor"] == "root" and events["items"][3]["actor"] == "coordinator"

        failed = await f.reaches(child["id"], "failed")
        assert failed["error"] == f"dependency {parent['id']} did not complete"
        history = (await f.client.get(f"/api/tasks/{child['id']}/events", headers=auth(settings, "viewer"))).json()
        assert history["items"][-1]["data"]["reason"] == "dependency_failed"


async def test_a_running_task_is_stopped_on_its_agent_and_ends_cancelled(settings: Settings, tmp_path: Path) -> None:
    async with fleet(settings) as f:
        sidecar = await f.sidecar(capabilities={"sleepy": 1.0}, executor=SLEEPER)
        pidfile = tmp_path / "pid"
        task = await f.create(capabilities=["sleepy"], prompt=str(pidfile))
        pid = int(await wait_until(lambda: pidfile.exists() and pidfile.read_text().strip(), what="the sleeper's pid"))
        await f.reaches(task["id"], "running")
        assert alive(pid)

        resp = await f.client.delete(f"/api/tasks/{task['id']}", headers=auth(settings, "developer"))
        assert resp.status_code == 202, resp.text
        assert resp.json()["status"] == "running" and resp.json()["cancel_requested_at"] is not None

        cancelled = await f.reaches(task["id"], "cancelled")
        assert cancelled["assigned_agent_id"] == sidecar.agent_id
        assert cancelled["error"] == f"cancelled on request (stopped on agent {sidecar.agent_id})"
        # The executor reports only once the process group is gone.
        assert not alive(pid)
        assert sidecar.in_flight == 0
        assert await f.event_types(task["id"]) == [
            "task.created.v1", "task.queued.v1", "task.assigned.v1", "task.started.v1", "task.cancel_requested.v1",
            "task.cancelled.v1"]

        # The agent's slot is free again: the next task runs there.
        nxt = await f.create(capabilities=["sleepy"], prompt=str(tmp_path / "pid2"))
        await f.reaches(nxt["id"], "running")
        assert (await f.task(nxt["id"]))["assigned_agent_id"] == sidecar.agent_id


async def test_cancelling_an_ended_task_is_a_conflict(settings: Settings) -> None:
    async with fleet(settings) as f:
        await f.sidecar()
        task = await f.create(capabilities=["echo"], prompt="done")
        await f.reaches(task["id"], "completed")
        resp = await f.client.delete(f"/api/tasks/{task['id']}", headers=auth(settings, "admin"))
        assert resp.status_code == 409, resp.text
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert resp.json()["detail"] == f"task {task['id']} already ended (completed): there is nothing to cancel"
        assert "task.cancel_requested.v1" not in await f.event_types(task["id"])


async def test_cancel_needs_the_permission_and_a_known_task(settings: Settings) -> None:
    async with fleet(settings) as f:
        task = await f.create(capabilities=["nobody-has-this"])
        path = f"/api/tasks/{task['id']}"
        assert (await f.client.delete(path)).status_code == 401
        viewer = await f.client.delete(path, headers=auth(settings, "viewer"))
        assert viewer.status_code == 403 and "tasks.cancel" in viewer.json()["detail"]
        unknown = await f.client.delete("/api/tasks/01900000-0000-7000-8000-000000000000", headers=auth(settings))
        assert unknown.status_code == 404, unknown.text
        assert (await f.client.delete("/api/tasks/not-a-uuid", headers=auth(settings))).status_code == 404
        assert (await f.client.delete(path, headers=auth(settings))).status_code == 202
        await f.reaches(task["id"], "cancelled")
        again = await f.client.delete(path, headers=auth(settings))
        assert again.status_code == 409 and "already ended (cancelled)" in again.json()["detail"]
