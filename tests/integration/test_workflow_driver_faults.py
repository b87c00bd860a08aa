"""The execution driver when things go wrong, on the real in-process fleet: a decision that keeps failing fails
its execution after a bounded number of tries (cancelling its running task); an output too big for one event
fails its node and the execution, and leaves no task running or created behind it; a Set that continues on
failure turns only its failing item into an error item."""

from __future__ import annotations

from typing import Any

import pytest

from core.coordinator.execution_tasks import node_task_id
from core.settings import Settings
from tests.integration.fleet_stack import Fleet, fleet
from tests.integration.test_gateway_support import auth
from tests.integration.test_workflow_executions import START, agent, connections, finished, link, node, run_workflow

SLOW = {"capabilities": {"slow": 1.0}, "executor": {"type": "command", "argv": ["sleep", "60"], "stdin": "none"}}


def wait(name: str, seconds: int) -> dict[str, Any]:
    return {"name": name, "type": "n8n-nodes-base.wait", "typeVersion": 1.1,
            "parameters": {"amount": seconds, "unit": "seconds"}}


async def task_status(f: Fleet, task_id: str) -> int | str:
    resp = await f.client.get(f"/api/tasks/{task_id}", headers=auth(f.settings, "viewer"))
    return str(resp.json()["status"]) if resp.status_code == 200 else resp.status_code


async def test_a_decision_that_keeps_failing_fails_the_execution_and_cancels_its_task(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    document = {"nodes": [START, agent("Slow", "slow", "zzz"), wait("Pause", 1),
                          {"name": "After", "type": "n8n-nodes-base.noOp", "typeVersion": 1, "parameters": {}}],
                "connections": connections(link("Start", "Slow"), link("Start", "Pause"), link("Pause", "After"))}
    async with fleet(settings) as f:
        await f.sidecar(**SLOW)
        driver = f.coordinator.executions
        advance = driver._advance
        tries: list[str] = []

        def faulty(workflow: Any, graph: Any, run: Any, now: Any, events: Any) -> Any:
            # A fault injected once the pause is over: every decision from then on raises, as a bug would.
            pause = run.nodes.get("Pause")
            if pause is not None and pause.status == "waiting" and now >= pause.resume_at:
                tries.append(run.execution_id)
                raise RuntimeError("injected fault")
            return advance(workflow, graph, run, now, events)

        monkeypatch.setattr(driver, "_advance", faulty)
        xid = (await run_workflow(f, document, {}))["id"]
        done = await finished(f, xid)
        assert done["status"] == "failed", done
        assert "injected fault" in done["error"] and "5 tries in a row" in done["error"]
        assert len(tries) == settings.execution_max_failures == 5  # then it stopped trying
        assert all(n["node"] != "After" for n in done["nodes"])
        (slow_task,) = node(done, "Slow")["task_ids"]
        assert (await f.reaches(slow_task, "cancelled"))["status"] == "cancelled"


async def test_an_output_too_big_for_an_event_fails_the_execution_and_leaves_no_task_behind(settings: Settings) -> None:
    big = {"name": "Big", "type": "n8n-nodes-base.set", "typeVersion": 3.4, "parameters": {
        "includeOtherFields": True, "assignments": {"assignments": [
            {"name": f"copy{i}", "type": "string", "value": "={{ $json.s }}"} for i in range(3)]}}}
    document = {"nodes": [START, agent("Slow", "slow", "zzz"), wait("Pause", 1), big, agent("Next", "slow", "n")],
                "connections": connections(link("Start", "Slow"), link("Start", "Pause"), link("Pause", "Big"),
                                           link("Big", "Next"))}
    async with fleet(settings) as f:
        await f.sidecar(**SLOW)
        # 300 kB in, four copies out: over what one event may hold.
        xid = (await run_workflow(f, document, {"items": [{"s": "x" * 300_000}]}))["id"]
        done = await finished(f, xid)
        assert done["status"] == "failed" and done["failed_node"] == "Big", done["error"]
        assert "bytes" in done["error"] and node(done, "Big")["status"] == "failed"
        (slow_task,) = node(done, "Slow")["task_ids"]
        assert (await f.reaches(slow_task, "cancelled"))["status"] == "cancelled"
        # The node planned after the cut never got its task: nothing was created that no one would cancel.
        assert all(n["node"] != "Next" for n in done["nodes"])
        assert await task_status(f, node_task_id(xid, "Next", 0)) == 404


async def test_a_set_that_continues_on_fail_turns_only_the_failing_item_into_an_error(settings: Settings) -> None:
    document = {"nodes": [START,
                          {"name": "Pick", "type": "n8n-nodes-base.set", "typeVersion": 3.4, "continueOnFail": True,
                           "parameters": {"assignments": {"assignments": [
                               {"name": "b", "type": "number", "value": "={{ $json.a.b }}"}]}}},
                          agent("Echo", "echo", "={{ $json.b }}{{ $json.error ? 'failed' : '' }}")],
                "connections": connections(link("Start", "Pick"), link("Pick", "Echo"))}
    async with fleet(settings) as f:
        await f.sidecar(executor={"type": "command", "argv": ["echo", "{prompt}"], "stdin": "none"})
        xid = (await run_workflow(f, document, {"items": [{"a": {"b": 1}}, {"z": 0}, {"a": {"b": 3}}]}))["id"]
        done = await finished(f, xid)
        assert done["status"] == "completed", done
        picked = [i["json"] for i in node(done, "Pick")["outputs"][0]]
        assert picked[0] == {"b": 1} and picked[2] == {"b": 3}
        assert list(picked[1]) == ["error"] and "cannot read properties of undefined" in picked[1]["error"]
        assert [i["json"]["output"].strip() for i in done["result"]] == ["1", "failed", "3"]
