"""Workflows run by the coordinator on real sidecars (gateway, coordinator, projector and sidecars in this
process on a real NATS and PostgreSQL): branching and merging, a failing node with and without
continueOnFail, and a cancel while a node's task runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.settings import Settings
from tests.helpers import wait_until
from tests.integration.fleet_stack import Fleet, fleet
from tests.integration.test_gateway_support import auth

START = {"name": "Start", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1, "parameters": {}}


def agent(name: str, capability: str, prompt: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": "hive.agentTask", "typeVersion": 1,
            "parameters": {"capability": capability, "prompt": prompt}, **extra}


def link(source: str, target: str, output: int = 0, index: int = 0) -> tuple[str, int, str, int]:
    return source, output, target, index


def connections(*links: tuple[str, int, str, int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for source, output, target, index in links:
        outputs = out.setdefault(source, {"main": []})["main"]
        while len(outputs) <= output:
            outputs.append([])
        outputs[output].append({"node": target, "type": "main", "index": index})
    return out


async def run_workflow(f: Fleet, document: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    headers = auth(f.settings, "developer")
    created = await f.client.post("/api/workflows", json=document, headers=headers)
    assert created.status_code == 201, created.text
    started = await f.client.post(f"/api/workflows/{created.json()['id']}/execute", json=body, headers=headers)
    assert started.status_code == 202, started.text
    return dict(started.json())


async def finished(f: Fleet, execution_id: str) -> dict[str, Any]:
    async def probe() -> Any:  # the execution once it ended, else None
        resp = await f.client.get(f"/api/executions/{execution_id}", headers=auth(f.settings, "viewer"))
        body = resp.json()
        return body if body["status"] in ("completed", "failed", "cancelled") else None

    found: dict[str, Any] = await wait_until(probe, what=f"execution {execution_id} ended", timeout=30)
    return found


def node(execution: dict[str, Any], name: str) -> dict[str, Any]:
    return next(n for n in execution["nodes"] if n["node"] == name)


async def test_branches_merge_and_a_set_after_them(settings: Settings) -> None:
    document = {
        "name": "branch and merge",
        "nodes": [
            START,
            {"name": "If", "type": "n8n-nodes-base.if", "typeVersion": 2.2, "parameters": {"conditions": {
                "options": {"caseSensitive": True, "typeValidation": "strict"}, "combinator": "and",
                "conditions": [{"leftValue": "={{ $json.go }}", "rightValue": "",
                                "operator": {"type": "boolean", "operation": "true", "singleValue": True}}]}}},
            agent("Yes", "echo", "=yes {{ $json.q }}"),
            agent("No", "echo", "=no {{ $json.q }}"),
            {"name": "Merge", "type": "n8n-nodes-base.merge", "typeVersion": 3, "parameters": {}},
            {"name": "Collect", "type": "n8n-nodes-base.set", "typeVersion": 3.4, "parameters": {"assignments": {
                "assignments": [{"name": "said", "type": "string", "value": "={{ $json.output.trim() }}"},
                                {"name": "asked", "type": "string", "value": "={{ $('If').item.json.q }}"}]}}},
        ],
        "connections": connections(link("Start", "If"), link("If", "Yes"), link("If", "No", output=1),
                                   link("Yes", "Merge"), link("No", "Merge", index=1), link("Merge", "Collect")),
    }
    async with fleet(settings) as f:
        await f.sidecar(max_concurrency=2, executor={"type": "command", "argv": ["echo", "{prompt}"], "stdin": "none"})
        execution = await run_workflow(f, document, {"items": [{"q": "a", "go": True}, {"q": "b", "go": False}]})
        done = await finished(f, execution["id"])
        assert done["status"] == "completed", done
        assert done["result"] == [{"json": {"said": "yes a", "asked": "a"}}, {"json": {"said": "no b", "asked": "b"}}]
        yes, no = node(done, "Yes"), node(done, "No")
        assert len(yes["task_ids"]) == 1 and len(no["task_ids"]) == 1
        task = await f.task(yes["task_ids"][0])
        assert task["status"] == "completed" and task["capabilities"] == ["echo"] and task["prompt"] == "yes a"
        assert [n["node"] for n in done["nodes"]][:2] == ["Start", "If"]


async def test_a_failing_node_fails_the_execution_unless_it_continues_on_fail(settings: Settings) -> None:
    def document(**flags: Any) -> dict[str, Any]:
        return {"nodes": [START, agent("Boom", "boom", "={{ $json.q }}", **flags),
                          {"name": "After", "type": "n8n-nodes-base.noOp", "typeVersion": 1, "parameters": {}}],
                "connections": connections(link("Start", "Boom"), link("Boom", "After"))}

    async with fleet(settings) as f:
        await f.sidecar(capabilities={"boom": 1.0},
                        executor={"type": "command", "argv": ["sh", "-c", "echo failing >&2; exit 3"], "stdin": "none"})
        failed = await finished(f, (await run_workflow(f, document(), {"items": [{"q": "x"}]}))["id"])
        assert failed["status"] == "failed" and failed["failed_node"] == "Boom"
        assert node(failed, "Boom")["status"] == "failed"
        assert all(n["node"] != "After" for n in failed["nodes"])

        kept = await finished(f, (await run_workflow(f, document(continueOnFail=True), {"items": [{"q": "x"}]}))["id"])
        assert kept["status"] == "completed", kept
        (item,) = kept["result"]
        assert item["json"]["error"] and item["json"]["task_id"] == node(kept, "Boom")["task_ids"][0]
        assert node(kept, "After")["status"] == "completed"


async def test_cancel_while_a_task_runs(settings: Settings) -> None:
    document = {"nodes": [START, agent("Slow", "slow", "zzz"),
                          {"name": "Never", "type": "n8n-nodes-base.noOp", "typeVersion": 1, "parameters": {}}],
                "connections": connections(link("Start", "Slow"), link("Slow", "Never"))}
    async with fleet(settings) as f:
        await f.sidecar(capabilities={"slow": 1.0}, executor={"type": "command", "argv": ["sleep", "60"],
                                                               "stdin": "none"})
        execution = await run_workflow(f, document, {})

        async def running_task() -> Any:  # the Slow node's task id once it runs, else None
            resp = await f.client.get(f"/api/executions/{execution['id']}", headers=auth(f.settings, "viewer"))
            slow = [n for n in resp.json()["nodes"] if n["node"] == "Slow"]
            if not slow or not slow[0]["task_ids"]:
                return None
            task_id: str = slow[0]["task_ids"][0]
            return task_id if (await f.task(task_id))["status"] == "running" else None

        task_id: str = await wait_until(running_task, what="the Slow node's task running", timeout=30)
        resp = await f.client.delete(f"/api/executions/{execution['id']}", headers=auth(f.settings, "developer"))
        assert resp.status_code == 202, resp.text
        done = await finished(f, execution["id"])
        assert done["status"] == "cancelled"
        assert (await f.reaches(task_id, "cancelled"))["status"] == "cancelled"
        assert all(n["node"] != "Never" for n in done["nodes"])
        again = await f.client.delete(f"/api/executions/{execution['id']}", headers=auth(f.settings, "developer"))
        assert again.status_code == 409


async def test_a_wait_node_resumes_at_its_time(settings: Settings) -> None:
    document = {"nodes": [START, {"name": "Wait", "type": "n8n-nodes-base.wait", "typeVersion": 1.1,
                                  "parameters": {"amount": 1, "unit": "seconds"}},
                          agent("After", "echo", "=after {{ $json.q }}")],
                "connections": connections(link("Start", "Wait"), link("Wait", "After"))}
    async with fleet(settings) as f:
        await f.sidecar(executor={"type": "command", "argv": ["echo", "{prompt}"], "stdin": "none"})
        done = await finished(f, (await run_workflow(f, document, {"items": [{"q": "z"}]}))["id"])
        assert done["status"] == "completed", done
        wait = node(done, "Wait")
        assert wait["resume_at"] is not None
        assert datetime.fromisoformat(wait["finished_at"]) >= datetime.fromisoformat(wait["resume_at"])
        assert done["result"][0]["json"]["output"].strip() == "after z"
