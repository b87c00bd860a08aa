"""/api/workflows and /api/executions on a real NATS and PostgreSQL, with the projector running: create,
validation errors naming nodes, versions, delete, execute, list and read (read model and event log), cancel."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import msgspec

from core.dev.ports import free_port
from core.settings import Settings
from projections.service import running_projector
from tests.helpers import wait_until
from tests.integration.served import served
from tests.integration.test_gateway_support import auth, gateway

N8N = Path(__file__).resolve().parents[1] / "data" / "n8n"
SIMPLE = {
    "name": "simple",
    "nodes": [
        {"name": "Start", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1, "parameters": {}},
        {"name": "Ask", "type": "hive.agentTask", "typeVersion": 1,
         "parameters": {"capability": "echo", "prompt": "={{ $json.q }}"}},
    ],
    "connections": {"Start": {"main": [[{"node": "Ask", "type": "main", "index": 0}]]}},
}


async def test_workflow_lifecycle_and_executions(settings: Settings) -> None:
    dev = auth(settings, "developer", "dev-1")
    # A real server in this event loop: under the test client the projector could not progress meanwhile.
    # A read with min_seq waits for the projector, which on a loaded CI machine may take longer than the default
    # 5 s just to start (migrations): the bound is not what this test is about.
    settings = msgspec.structs.replace(settings, gateway_port=free_port(), min_seq_wait_s=60.0)
    async with served(settings, asyncio.Event()) as (client, _), running_projector(settings):
        created = await client.post("/api/workflows", json=SIMPLE, headers=dev)
        assert created.status_code == 201, created.text
        wf = created.json()
        assert (wf["name"], wf["version"], wf["created_by"]) == ("simple", 1, "dev-1")
        assert wf["document"]["nodes"][1]["type"] == "hive.agentTask"

        got = await client.get(f"/api/workflows/{wf['id']}", headers=dev)
        assert got.status_code == 200 and got.json()["version"] == 1

        renamed = {**SIMPLE, "name": "simple v2"}
        updated = await client.put(f"/api/workflows/{wf['id']}", json=renamed, headers=dev)
        assert updated.status_code == 200, updated.text
        assert updated.json()["version"] == 2 and updated.json()["seq"] > wf["seq"]

        listed = await client.get("/api/workflows", params={"min_seq": updated.json()["seq"]}, headers=dev)
        assert listed.status_code == 200, listed.text
        assert [(w["id"], w["version"], w["node_count"]) for w in listed.json()["items"]] == [(wf["id"], 2, 2)]

        run = await client.post(f"/api/workflows/{wf['id']}/execute", json={"items": [{"q": "hello"}]}, headers=dev)
        assert run.status_code == 202, run.text
        execution = run.json()
        assert (execution["status"], execution["workflow_version"]) == ("requested", 2)
        assert run.headers["location"] == f"/api/executions/{execution['id']}"

        one = await client.get(f"/api/executions/{execution['id']}", headers=dev)
        assert one.status_code == 200 and one.json()["workflow_id"] == wf["id"]

        async def projected() -> bool:
            page = await client.get("/api/executions", params={"workflow_id": wf["id"]}, headers=dev)
            return [x["id"] for x in page.json()["items"]] == [execution["id"]]
        await wait_until(projected, what="the execution in the read model")
        assert (await client.get("/api/executions", params={"status": "completed"}, headers=dev)).json()["items"] == []

        cancelled = await client.delete(f"/api/executions/{execution['id']}", headers=dev)
        assert cancelled.status_code == 202 and cancelled.json()["cancel_requested_at"] is not None

        gone = await client.delete(f"/api/workflows/{wf['id']}", headers=dev)
        assert gone.status_code == 200 and gone.json()["deleted"] is True
        assert (await client.get(f"/api/workflows/{wf['id']}", params={"min_seq": gone.json()["seq"]},
                                 headers=dev)).status_code == 404
        again = await client.post(f"/api/workflows/{wf['id']}/execute", json={}, headers=dev)
        assert again.status_code == 404
        assert (await client.put(f"/api/workflows/{wf['id']}", json=SIMPLE, headers=dev)).status_code == 404


async def test_invalid_workflows_are_400s_naming_each_node(settings: Settings) -> None:
    dev = auth(settings, "developer")
    async with gateway(settings) as client:
        resp = await client.post("/api/workflows", content=(N8N / "unsupported-slack-postgres-mongodb-etl.json")
                                 .read_bytes(), headers={**dev, "content-type": "application/json"})
        assert resp.status_code == 400
        problem = resp.json()
        assert resp.headers["content-type"].startswith("application/problem+json")
        named = {e["field"]: e["message"] for e in problem["errors"]}
        for node in ("Cron", "Twitter", "MongoDB", "Postgres", "Slack", "Google Cloud Natural Language"):
            assert any(f"node {node!r}" in m and "unsupported node type" in m for m in named.values()), node

        broken: dict[str, Any] = json.loads(json.dumps(SIMPLE))
        broken["nodes"][1]["parameters"] = {"capability": "echo"}
        broken["connections"]["Ask"] = {"main": [[{"node": "Start", "type": "main", "index": 0},
                                                  {"node": "Nowhere", "type": "main", "index": 0}]]}
        resp = await client.post("/api/workflows", json=broken, headers=dev)
        assert resp.status_code == 400
        messages = [e["message"] for e in resp.json()["errors"]]
        assert "node 'Ask': required parameter prompt is missing" in messages
        assert any("'Nowhere', which does not exist" in m for m in messages)
        fields = [e["field"] for e in resp.json()["errors"]]
        assert "$.nodes[1].parameters.prompt" in fields

        for body, field in ((b"[]", "$"), (b'{"nodes": 3, "connections": {}}', "$.nodes"), (b"{", "$")):
            resp = await client.post("/api/workflows", content=body, headers={**dev, "content-type": "application/json"})
            assert resp.status_code == 400 and resp.json()["errors"][0]["field"] == field, resp.text
        assert (await client.post("/api/workflows", content=b"x", headers={**dev, "content-type": "text/plain"})
                ).status_code == 415

        created = (await client.post("/api/workflows", json=SIMPLE, headers=dev)).json()
        bad_trigger = await client.post(f"/api/workflows/{created['id']}/execute", json={"trigger": "Ask"}, headers=dev)
        assert bad_trigger.status_code == 400 and bad_trigger.json()["errors"][0]["field"] == "$.trigger"
        unknown = await client.post(f"/api/workflows/{created['id']}/execute", json={"nope": 1}, headers=dev)
        assert unknown.status_code == 400 and unknown.json()["errors"][0]["field"] == "$.nope"
        assert (await client.get("/api/executions/not-a-uuid", headers=dev)).status_code == 404


async def test_viewers_read_but_do_not_write(settings: Settings) -> None:
    async with gateway(settings) as client:
        viewer = auth(settings, "viewer")
        resp = await client.post("/api/workflows", json=SIMPLE, headers=viewer)
        assert resp.status_code == 403 and "workflows.create" in resp.json()["detail"]
        assert (await client.get("/api/workflows", headers=viewer)).status_code == 200
        assert (await client.get("/api/executions", headers=viewer)).status_code == 200
