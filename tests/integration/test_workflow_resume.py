"""Wait nodes resumed from outside on the real in-process fleet (gateway, coordinator, projector on a real NATS
and PostgreSQL): POST /api/executions/{id}/resume for a webhook and a form wait, the refusals (403, 409, 400),
a time limit that lets the items go on, and a coordinator restarted while executions wait."""

from __future__ import annotations

import json
from typing import Any

from core.coordinator.service import Coordinator
from core.settings import Settings
from core.store.connect import connect
from tests.helpers import wait_until
from tests.integration.fleet_stack import Fleet, fleet
from tests.integration.test_gateway_support import auth
from tests.integration.test_workflow_executions import START, connections, finished, link, node, run_workflow


def waiting_workflow(wait: dict[str, Any]) -> dict[str, Any]:
    return {"name": "approval", "nodes": [
        START,
        {"name": "Link", "type": "n8n-nodes-base.set", "typeVersion": 3.4, "parameters": {
            "assignments": {"assignments": [{"name": "url", "type": "string", "value": "={{ $execution.resumeUrl }}"}]},
            "includeOtherFields": True}},
        {"name": "Approval", "type": "n8n-nodes-base.wait", "typeVersion": 1.1, "parameters": wait},
        {"name": "After", "type": "n8n-nodes-base.noOp", "typeVersion": 1, "parameters": {}},
    ], "connections": connections(link("Start", "Link"), link("Link", "Approval"), link("Approval", "After"))}


async def status_is(f: Fleet, execution_id: str, status: str) -> dict[str, Any]:
    async def probe() -> Any:
        resp = await f.client.get(f"/api/executions/{execution_id}", headers=auth(f.settings, "viewer"))
        return resp.json() if resp.json()["status"] == status else None

    found: dict[str, Any] = await wait_until(probe, what=f"execution {execution_id} {status}", timeout=30)
    return found


async def resume(f: Fleet, execution_id: str, body: Any = None, role: str = "developer", raw: bytes | None = None,
                 params: dict[str, str] | None = None) -> Any:
    headers = {**auth(f.settings, role), "content-type": "application/json"}
    content = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    return await f.client.post(f"/api/executions/{execution_id}/resume", content=content, headers=headers,
                               params=params or {})


async def events_of(f: Fleet, execution_id: str) -> list[dict[str, Any]]:
    resp = await f.client.get(f"/api/executions/{execution_id}/events", headers=auth(f.settings, "viewer"),
                              params={"limit": 500})
    assert resp.status_code == 200, resp.text
    return list(resp.json()["items"])


async def test_a_webhook_wait_resumes_on_post_and_refuses_what_it_must(settings: Settings) -> None:
    async with fleet(settings) as f:
        execution = await run_workflow(f, waiting_workflow({"resume": "webhook"}), {"items": [{"q": "z"}]})
        xid = execution["id"]
        waits = await status_is(f, xid, "waiting")
        wait = node(waits, "Approval")
        assert (wait["status"], wait["resume"], wait["resume_at"]) == ("waiting", "webhook", None)
        url = node(waits, "Link")["outputs"][0][0]["json"]["url"]
        assert url.endswith(f"/api/executions/{xid}/resume")
        listed = await f.client.get("/api/executions", params={"status": "waiting"}, headers=auth(f.settings, "viewer"))
        assert [x["id"] for x in listed.json()["items"]] == [xid]

        refused = await resume(f, xid, {"approved": True}, role="viewer")
        assert refused.status_code == 403, refused.text
        stale = await resume(f, xid, {"approved": True}, params={"node": "Link"})
        assert stale.status_code == 409 and "not waiting for a resume at node 'Link'" in stale.json()["detail"]
        bad = await resume(f, xid, raw=b'{"approved": tru')
        assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "$", bad.text
        assert (await status_is(f, xid, "waiting"))["id"] == xid  # none of them moved it

        resp = await resume(f, xid, {"approved": True}, params={"node": "Approval", "page": "2"})
        assert resp.status_code == 202, resp.text
        done = await finished(f, xid)
        assert done["status"] == "completed", done
        (item,) = done["result"]
        assert item["json"]["body"] == {"approved": True} and item["json"]["query"] == {"page": "2"}
        assert item["json"]["params"] == {} and "authorization" not in item["json"]["headers"]
        again = await resume(f, xid, {"approved": False})
        assert again.status_code == 409 and "already ended" in again.json()["detail"]

        # Every node's history: node_started, then node_completed (built-ins too); the resume is on record.
        history = [(e["type"].split(".")[1], e["data"].get("node")) for e in await events_of(f, xid)]
        for name in ("Start", "Link", "Approval", "After"):
            assert [t for t, n in history if n == name and t.startswith("node_")] == ["node_started",
                                                                                      "node_completed"], history
        assert ("resumed", "Approval") in history
        assert history.index(("resumed", "Approval")) < history.index(("node_completed", "Approval"))
        missing = await resume(f, "01890000-0000-7000-8000-000000000000", {})
        assert missing.status_code == 404


FORM = {"resume": "form", "formTitle": "Approve?", "formFields": {"values": [
    {"fieldLabel": "Decision", "fieldType": "dropdown", "requiredField": True,
     "fieldOptions": {"values": [{"option": "yes"}, {"option": "no"}]}},
    {"fieldLabel": "Amount", "fieldType": "number"}]}}


async def test_a_form_wait_checks_the_fields_then_emits_them(settings: Settings) -> None:
    async with fleet(settings) as f:
        xid = (await run_workflow(f, waiting_workflow(FORM), {}))["id"]
        await status_is(f, xid, "waiting")
        missing = await resume(f, xid, {"Amount": 3})
        assert missing.status_code == 400 and missing.json()["errors"] == [
            {"field": "$.Decision", "message": "is required"}], missing.text
        wrong = await resume(f, xid, {"Decision": "yes", "Amount": "lots"})
        assert wrong.status_code == 400 and wrong.json()["errors"][0]["field"] == "$.Amount"
        ok = await resume(f, xid, {"Decision": "yes", "Amount": "12"})
        assert ok.status_code == 202, ok.text
        done = await finished(f, xid)
        (item,) = done["result"]
        assert {k: item["json"][k] for k in ("Decision", "Amount", "formMode")} == {
            "Decision": "yes", "Amount": 12, "formMode": "production"}


async def test_the_time_limit_lets_the_input_items_go_on_and_a_late_resume_is_refused(settings: Settings) -> None:
    limited = {"resume": "webhook", "limitWaitTime": True, "resumeAmount": 1, "resumeUnit": "seconds"}
    async with fleet(settings) as f:
        xid = (await run_workflow(f, waiting_workflow(limited), {"items": [{"q": "a"}, {"q": "b"}]}))["id"]
        done = await finished(f, xid)
        assert done["status"] == "completed", done
        assert [i["json"]["q"] for i in done["result"]] == ["a", "b"]  # the input items, as they came
        assert node(done, "Approval")["resume_at"] is not None
        late = await resume(f, xid, {"approved": True})
        assert late.status_code == 409


async def test_waits_survive_a_coordinator_restart(settings: Settings) -> None:
    async with fleet(settings) as f:
        by_post = (await run_workflow(f, waiting_workflow({"resume": "webhook"}), {}))["id"]
        by_limit = (await run_workflow(f, waiting_workflow(
            {"resume": "webhook", "limitWaitTime": True, "resumeAmount": 2, "resumeUnit": "seconds"}), {}))["id"]
        await status_is(f, by_post, "waiting")
        await status_is(f, by_limit, "waiting")
        await f.coordinator.stop()
        nc, js = await connect(settings, "coordinator-2")
        try:
            # A new leader knows the waits only from the log: the one with a limit goes on at its time, the other
            # when it is resumed.
            f.coordinator = Coordinator(settings, nc, js)
            await f.coordinator.start()
            assert (await finished(f, by_limit))["status"] == "completed"
            assert (await resume(f, by_post, {"after": "restart"})).status_code == 202
            done = await finished(f, by_post)
            assert done["status"] == "completed" and done["result"][0]["json"]["body"] == {"after": "restart"}
        finally:
            await f.coordinator.stop()
            await nc.close()
