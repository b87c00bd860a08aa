"""A workflow end to end on a `hive sidecar` process: an n8n document uploaded over HTTP fans out to an MCP tool
(a real stdio MCP server), an HTTP request (a local server standing in for the host) and an agent task, merges
the three branches by position and sets fields from them; the coordinator places every node's task on the
sidecar process by capability, and the execution's result is read back from the read model."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from core.settings import Settings
from tests.e2e.kinds_sidecar import kinds_sidecar
from tests.fakes.http_target import HttpTarget
from tests.helpers import wait_until
from tests.integration.fleet_stack import Fleet
from tests.integration.test_workflow_executions import START, connections, finished, link, node, run_workflow

pytestmark = pytest.mark.e2e

AGENT = "workflow-agent"


@pytest.fixture
async def running(settings: Settings) -> AsyncIterator[tuple[Fleet, HttpTarget]]:
    async with kinds_sidecar(settings, AGENT, "sidecar") as (stack, target, processes):
        yield stack, target


async def test_fan_out_to_mcp_http_and_an_agent_then_merge(running: tuple[Fleet, HttpTarget]) -> None:
    stack, target = running
    document: dict[str, Any] = {
        "name": "three kinds",
        "nodes": [
            START,
            {"name": "Add", "type": "hive.mcpTool", "typeVersion": 1, "parameters": {
                "server": "tools", "tool": "add", "arguments": {"a": "={{ $json.a }}", "b": "={{ $json.b }}"}}},
            {"name": "Echo", "type": "n8n-nodes-base.httpRequest", "typeVersion": 4.2, "parameters": {
                "method": "POST", "url": f"{target.url}/echo", "sendBody": True, "specifyBody": "json",
                "jsonBody": "={{ JSON.stringify({ q: $json.q }) }}", "options": {}}},
            {"name": "Say", "type": "hive.agentTask", "typeVersion": 1,
             "parameters": {"capability": "echo", "prompt": "=hello {{ $json.q }}"}},
            {"name": "Merge", "type": "n8n-nodes-base.merge", "typeVersion": 3,
             "parameters": {"numberInputs": 3, "mode": "combine", "combineBy": "combineByPosition"}},
            {"name": "Result", "type": "n8n-nodes-base.set", "typeVersion": 3.4, "parameters": {"assignments": {
                "assignments": [
                    {"name": "sum", "type": "number", "value": "={{ $json.structuredContent.result }}"},
                    {"name": "sent", "type": "string", "value": "={{ JSON.parse($json.body).q }}"},
                    {"name": "said", "type": "string", "value": "={{ $json.output }}"},
                    {"name": "q", "type": "string", "value": "={{ $('Start').item.json.q }}"}]}}},
        ],
        "connections": connections(link("Start", "Add"), link("Start", "Echo"), link("Start", "Say"),
                                   link("Add", "Merge"), link("Echo", "Merge", index=1), link("Say", "Merge", index=2),
                                   link("Merge", "Result")),
    }
    execution = await run_workflow(stack, document, {"items": [{"a": 20, "b": 22, "q": "bees"}]})
    done = await finished(stack, execution["id"])
    assert done["status"] == "completed", done
    assert done["result"] == [{"json": {"sum": 42, "sent": "bees", "said": "hello bees", "q": "bees"}}]
    for name in ("Add", "Echo", "Say"):
        (task_id,) = node(done, name)["task_ids"]
        assert (await stack.task(task_id))["assigned_agent_id"] == AGENT
    assert [r["path"] for r in target.requests] == ["/echo"]
