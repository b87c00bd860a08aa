"""Retries, timeouts, dead letters and circuit breakers through the whole fleet: gateway, coordinator, projector
and real sidecars running real processes, in this process, on real NATS and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import msgspec

from core.settings import Settings
from tests.helpers import pid_alive as alive, wait_until
from tests.integration.fleet_stack import fleet
from tests.integration.test_gateway_support import auth

# Fails with the retryable exit code 75 until the file named by the prompt exists, then prints "ok".
FLAKY = {"type": "command", "argv": ["sh", "-c", 'test -e "$0" || exit 75; echo ok', "{prompt}"], "stdin": "none",
         "retry_on_exit_codes": [75]}
# Writes its pid to the file named by the prompt, then sleeps (the same process: exec).
SLEEPER = {"type": "command", "argv": ["sh", "-c", 'echo $$ >> "$0"; exec sleep 60', "{prompt}"], "stdin": "none",
           "kill_grace_s": 0.5}
FAILS = {"type": "command", "argv": ["sh", "-c", "exit 3"], "stdin": "none"}


def fast(settings: Settings, **overrides: object) -> Settings:
    """Backoffs short enough for a test (their bounds are checked on the events themselves)."""
    return msgspec.structs.replace(settings, retry_backoff_s=0.05, retry_backoff_max_s=0.2, **overrides)


async def test_retryable_failures_back_off_then_dead_letter_and_a_retry_runs_it_again(
        settings: Settings, tmp_path: Path) -> None:
    async with fleet(fast(settings)) as f:
        await f.sidecar(capabilities={"flaky": 1.0}, executor=FLAKY)
        marker = tmp_path / "ready"
        task = await f.create(capabilities=["flaky"], prompt=str(marker), max_attempts=3)
        failed = await f.reaches(task["id"], "failed")
        assert (failed["attempt"], failed["dead_lettered"], failed["failure_reason"]) == (3, True, "executor_error")
        history = (await f.client.get(f"/api/tasks/{task['id']}/events", headers=auth(settings, "viewer"))).json()
        types = [e["type"] for e in history["items"]]
        assert types.count("task.retry_scheduled.v1") == 2 and types[-1] == "task.failed.v1", types
        for item in history["items"]:
            if item["type"] == "task.retry_scheduled.v1":
                # Equal jitter: the n-th retry waits between half and all of min(0.2, 0.05 * 2**(n-1)).
                n = item["data"]["attempt"]
                d = min(0.2, 0.05 * 2 ** (n - 1))
                wait = (datetime.fromisoformat(item["data"]["not_before"])
                        - datetime.fromisoformat(item["occurred_at"])).total_seconds()
                assert d / 2 - 1e-6 <= wait <= d + 1e-6, (n, wait)
                assert item["data"]["next_attempt"] == n + 1 and item["data"]["reason"] == "executor_error"

        viewer = auth(settings, "viewer")
        letters = (await f.client.get("/api/tasks", params={"dead_lettered": "true"}, headers=viewer)).json()
        assert [t["id"] for t in letters["items"]] == [task["id"]]
        others = (await f.client.get("/api/tasks", params={"dead_lettered": "false"}, headers=viewer)).json()
        assert task["id"] not in [t["id"] for t in others["items"]]
        assert (await f.client.post(f"/api/tasks/{task['id']}/retry", headers=viewer)).status_code == 403

        marker.touch()
        resp = await f.client.post(f"/api/tasks/{task['id']}/retry", headers=auth(settings, "developer", "dora"))
        assert resp.status_code == 202, resp.text
        assert resp.json()["status"] == "pending" and resp.json()["dead_lettered"] is False
        done = await f.reaches(task["id"], "completed")
        assert (done["attempt"], done["dead_lettered"], done["result"]["output"]) == (4, False, "ok\n")
        assert (await f.event_types(task["id"]))[-6:] == [
            "task.failed.v1", "task.retry_requested.v1", "task.queued.v1", "task.assigned.v1", "task.started.v1",
            "task.completed.v1"]
        letters = (await f.client.get("/api/tasks", params={"dead_lettered": "true"}, headers=viewer)).json()
        assert letters["items"] == []
        # Only a failed or timed-out task can be retried.
        again = await f.client.post(f"/api/tasks/{task['id']}/retry", headers=auth(settings, "developer"))
        assert again.status_code == 409 and "completed" in again.json()["detail"]


async def test_a_non_retryable_failure_is_a_dead_letter_at_once(settings: Settings) -> None:
    async with fleet(fast(settings)) as f:
        await f.sidecar(capabilities={"broken": 1.0}, executor=FAILS)
        task = await f.create(capabilities=["broken"], max_attempts=5)
        failed = await f.reaches(task["id"], "failed")
        assert (failed["attempt"], failed["dead_lettered"], failed["result"]["exit_code"]) == (1, True, 3)
        assert "task.retry_scheduled.v1" not in await f.event_types(task["id"])


async def test_a_task_past_its_timeout_is_killed_retried_and_ends_timed_out(settings: Settings, tmp_path: Path) -> None:
    async with fleet(fast(settings)) as f:
        sidecar = await f.sidecar(capabilities={"sleepy": 1.0}, executor=SLEEPER)
        pids = tmp_path / "pids"
        task = await f.create(capabilities=["sleepy"], prompt=str(pids), timeout_s=0.5, max_attempts=2)
        timed_out = await f.reaches(task["id"], "timed_out")
        assert (timed_out["attempt"], timed_out["dead_lettered"], timed_out["failure_reason"]) == (2, True, "timed_out")
        assert "0.5s limit" in timed_out["error"]
        types = await f.event_types(task["id"])
        assert types.count("task.retry_scheduled.v1") == 1 and types[-1] == "task.timed_out.v1", types
        # Each attempt's process was stopped at the timeout (the report is sent only once it is gone).
        started = [int(line) for line in pids.read_text().split()]
        assert len(started) == 2 and not any(alive(pid) for pid in started)
        assert sidecar.in_flight == 0
        letters = (await f.client.get("/api/tasks", params={"dead_lettered": "true", "status": "timed_out"},
                                      headers=auth(settings, "viewer"))).json()
        assert [t["id"] for t in letters["items"]] == [task["id"]]


async def test_retry_of_an_unknown_or_unfinished_task_is_refused(settings: Settings) -> None:
    async with fleet(fast(settings)) as f:
        queued = await f.create(capabilities=["nobody-has-this"])
        await f.reaches(queued["id"], "queued")
        resp = await f.client.post(f"/api/tasks/{queued['id']}/retry", headers=auth(settings, "developer"))
        assert resp.status_code == 409 and resp.headers["content-type"].startswith("application/problem+json")
        unknown = "01900000-0000-7000-8000-000000000000"
        assert (await f.client.post(f"/api/tasks/{unknown}/retry", headers=auth(settings, "admin"))).status_code == 404


async def test_an_agent_failing_in_a_row_gets_no_work_until_its_cooldown_ends(settings: Settings) -> None:
    async with fleet(fast(settings, breaker_failures=2, breaker_cooldown_s=3600.0)) as f:
        bad = await f.sidecar(capabilities={"job": 1.0}, executor=FAILS)
        first = await f.create(capabilities=["job"])
        second = await f.create(capabilities=["job"])
        await f.reaches(first["id"], "failed")
        await f.reaches(second["id"], "failed")

        async def opened() -> dict[str, object] | None:
            agent = await f.agent(bad.agent_id)
            return agent if agent["circuit"] == "open" else None

        agent = await wait_until(opened, what="the circuit opened")
        assert agent["circuit_failures"] == 2 and agent["circuit_open_until"] is not None
        assert agent["status"] == "online"  # still registered and heartbeating: only placements stop
        # The next task waits rather than land on the broken agent, and runs on a healthy one that joins.
        third = await f.create(capabilities=["job"])
        await f.reaches(third["id"], "queued")
        assert not f.coordinator.fleet.agents[bad.agent_id].candidate.online
        good = await f.sidecar(capabilities={"job": 1.0})
        done = await f.reaches(third["id"], "completed")
        assert done["assigned_agent_id"] == good.agent_id
        types = [e["type"] for e in (await f.client.get(f"/api/agents/{bad.agent_id}/events",
                                                        headers=auth(settings, "viewer"))).json()["items"]]
        assert types.count("agent.circuit_opened.v1") == 1, types
