"""`hive mcp` driven by the official MCP SDK's client against a real gateway (with its projector, coordinator and a
sidecar): over stdio as a `hive mcp` process, and over streamable HTTP; the token's role decides what it may do."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult, TextContent

from core.dev.ports import free_port
from core.mcp_bridge.serve import McpSettings, run_mcp
from core.settings import Settings
from tests.helpers import wait_until
from tests.integration.fleet_stack import Fleet, fleet
from tests.integration.test_gateway_support import token

REPO = Path(__file__).resolve().parents[2]
TOOLS = {"create_task", "get_task", "list_tasks", "cancel_task", "wait_for_task", "task_events", "list_agents",
         "get_agent", "cluster_status", "create_workflow", "list_workflows", "get_workflow", "execute_workflow",
         "get_execution", "wait_for_execution", "cancel_execution", "update_workflow", "list_executions",
         "resume_execution"}


@pytest.fixture
async def stack(settings: Settings) -> AsyncIterator[Fleet]:
    async with fleet(settings) as running:
        yield running


def gateway_url(stack: Fleet) -> str:
    return str(stack.client.base_url).rstrip("/")


@contextlib.asynccontextmanager
async def stdio_session(stack: Fleet, role: str) -> AsyncIterator[ClientSession]:
    """A `hive mcp` process acting with a token of `role`, and an initialized SDK session with it."""
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "core.cli", "mcp", "--url", gateway_url(stack)], cwd=str(REPO),
        env={"HIVE_TOKEN": token(stack.settings, role), "HIVE_LOG_LEVEL": "WARNING"})
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


async def call(session: ClientSession, tool: str, **arguments: Any) -> CallToolResult:
    result = await session.call_tool(tool, arguments)
    assert isinstance(result, CallToolResult)
    return result


def value(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, text(result)
    assert isinstance(result.structured_content, dict)
    return result.structured_content


def text(result: CallToolResult) -> str:
    return " ".join(block.text for block in result.content if isinstance(block, TextContent))


async def test_tools_over_stdio_create_list_wait_and_cancel_tasks(stack: Fleet) -> None:
    sidecar = await stack.sidecar()
    async with stdio_session(stack, "developer") as session:
        listed = await session.list_tools()
        assert TOOLS <= {tool.name for tool in listed.tools}
        create = next(tool for tool in listed.tools if tool.name == "create_task")
        assert "title" in create.input_schema["properties"] and "ctx" not in create.input_schema["properties"]

        task = value(await call(session, "create_task", title="from mcp", prompt="hello over MCP",
                                capabilities=["echo"]))
        assert task["title"] == "from mcp" and task["created_by"] == "alice"

        async def listed_by_mcp() -> bool:
            page = value(await call(session, "list_tasks", limit=10))
            return any(item["id"] == task["id"] for item in page["items"])

        await wait_until(listed_by_mcp, what="the task in list_tasks")
        done = value(await call(session, "wait_for_task", task_id=task["id"], timeout_s=30))
        assert done["done"] is True and done["status"] == "completed"
        assert done["result"]["output"] == "hello over MCP" and done["assigned_agent_id"] == sidecar.agent_id
        assert value(await call(session, "get_task", task_id=task["id"]))["status"] == "completed"
        history = value(await call(session, "task_events", task_id=task["id"]))
        assert history["items"][0]["type"] == "task.created.v1"

        # A task no agent can take stays queued until it is cancelled through the tool.
        stuck = value(await call(session, "create_task", title="never placed", capabilities=["no-such-capability"]))
        cancelled = value(await call(session, "cancel_task", task_id=stuck["id"]))
        assert cancelled["id"] == stuck["id"]
        await stack.reaches(stuck["id"], "cancelled")

        agents = value(await call(session, "list_agents"))
        assert sidecar.agent_id in {agent["id"] for agent in agents["items"]}
        assert value(await call(session, "get_agent", agent_id=sidecar.agent_id))["id"] == sidecar.agent_id
        assert "agents" in value(await call(session, "cluster_status"))

        missing = await call(session, "get_task", task_id="00000000-0000-0000-0000-000000000000")
        assert missing.is_error and "404" in text(missing)
        invalid = await call(session, "create_task", title="x", priority=1000)
        assert invalid.is_error and "400" in text(invalid) and "priority" in text(invalid)


async def test_a_viewer_token_may_read_but_not_create(stack: Fleet) -> None:
    existing = await stack.create(title="made by a developer")
    async with stdio_session(stack, "viewer") as session:
        refused = await call(session, "create_task", title="not allowed")
        assert refused.is_error
        assert "403 Forbidden on POST /api/tasks" in text(refused) and "role may not do this" in text(refused)
        assert value(await call(session, "get_task", task_id=existing["id"]))["id"] == existing["id"]
        not_cancelled = await call(session, "cancel_task", task_id=existing["id"])
        assert not_cancelled.is_error and "403" in text(not_cancelled)


async def test_streamable_http_acts_with_each_requests_own_token(stack: Fleet) -> None:
    port = free_port()
    serving = asyncio.create_task(run_mcp(McpSettings(gateway_url=gateway_url(stack), http_port=port)))

    @contextlib.asynccontextmanager
    async def session_with(headers: dict[str, str]) -> AsyncIterator[ClientSession]:
        async with httpx2.AsyncClient(headers=headers, timeout=30) as client, \
                streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=client) as (read, write), \
                ClientSession(read, write) as session:
            await session.initialize()
            yield session

    async def listening() -> bool:
        if serving.done():
            serving.result()
        try:
            async with httpx2.AsyncClient() as probe:
                await probe.get(f"http://127.0.0.1:{port}/mcp")
            return True
        except httpx2.HTTPError:
            return False

    try:
        await wait_until(listening, what="hive mcp listening")
        developer = {"Authorization": f"Bearer {token(stack.settings, 'developer', 'bob')}"}
        async with session_with(developer) as session:
            created = value(await call(session, "create_task", title="over http"))
            assert created["created_by"] == "bob"
        async with session_with({"Authorization": f"Bearer {token(stack.settings, 'viewer')}"}) as session:
            refused = await call(session, "create_task", title="no")
            assert refused.is_error and "403" in text(refused)
        async with session_with({}) as session:
            anonymous = await call(session, "list_tasks")
            assert anonymous.is_error and "401" in text(anonymous)
    finally:
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await serving


def test_stdio_without_a_token_says_how_to_get_one(tmp_path: Path) -> None:
    import subprocess

    done = subprocess.run([sys.executable, "-m", "core.cli", "mcp", "--url", "http://127.0.0.1:1"], cwd=REPO,
                          capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 2
    assert "set HIVE_TOKEN or pass --token" in done.stderr
    assert done.stdout == ""  # nothing on stdout, which an MCP client would read as protocol


WORKFLOW: dict[str, Any] = {
    "name": "mcp smoke",
    "nodes": [
        {"parameters": {}, "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1, "position": [0, 0],
         "id": "00000000-0000-4000-8000-000000000001", "name": "Start"},
        {"parameters": {"assignments": {"assignments": [
            {"id": "00000000-0000-4000-8000-000000000003", "name": "greeting", "value": "hi", "type": "string"}]},
            "options": {}}, "type": "n8n-nodes-base.set", "typeVersion": 3.4, "position": [200, 0],
         "id": "00000000-0000-4000-8000-000000000002", "name": "Greet"},
    ],
    "connections": {"Start": {"main": [[{"node": "Greet", "type": "main", "index": 0}]]}},
}


WAITING_WORKFLOW: dict[str, Any] = {
    "name": "mcp approval",
    "nodes": [
        {"parameters": {}, "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1, "position": [0, 0],
         "id": "00000000-0000-4000-8000-000000000011", "name": "Start"},
        {"parameters": {"resume": "webhook"}, "type": "n8n-nodes-base.wait", "typeVersion": 1.1,
         "position": [200, 0], "id": "00000000-0000-4000-8000-000000000012", "name": "Approval"},
    ],
    "connections": {"Start": {"main": [[{"node": "Approval", "type": "main", "index": 0}]]}},
}


async def test_workflow_tools_create_run_and_read_executions(stack: Fleet) -> None:
    async with stdio_session(stack, "developer") as session:
        created = value(await call(session, "create_workflow", workflow=WORKFLOW))
        assert created["name"] == "mcp smoke" and created["version"] == 1

        async def listed() -> bool:
            page = value(await call(session, "list_workflows"))
            return any(item["id"] == created["id"] for item in page["items"])

        await wait_until(listed, what="the workflow in list_workflows")
        assert value(await call(session, "get_workflow", workflow_id=created["id"]))["document"]["name"] == "mcp smoke"
        broken = await call(session, "create_workflow", workflow={**WORKFLOW, "connections": {
            "Start": {"main": [[{"node": "Nowhere", "type": "main", "index": 0}]]}}})
        assert broken.is_error and "400" in text(broken) and "Nowhere" in text(broken)

        execution = value(await call(session, "execute_workflow", workflow_id=created["id"],
                                     items=[{"json": {"n": 1}}]))
        assert execution["workflow_id"] == created["id"]
        read = value(await call(session, "get_execution", execution_id=execution["id"]))
        assert read["id"] == execution["id"]
        # Whether the execution has ended by now depends on the coordinator; `done` must say which.
        waited = value(await call(session, "wait_for_execution", execution_id=execution["id"], timeout_s=0.5))
        assert waited["done"] is (waited["status"] in {"completed", "failed", "cancelled"})

        async def in_list() -> bool:
            page = value(await call(session, "list_executions", workflow_id=created["id"]))
            return any(item["id"] == execution["id"] for item in page["items"])

        await wait_until(in_list, what="the execution in list_executions")

        # A Wait node that waits for a webhook: the execution waits until resume_execution posts to it.
        approval = value(await call(session, "create_workflow", workflow=WAITING_WORKFLOW))
        waiting = value(await call(session, "execute_workflow", workflow_id=approval["id"]))

        async def is_waiting() -> bool:
            return value(await call(session, "get_execution", execution_id=waiting["id"]))["status"] == "waiting"

        await wait_until(is_waiting, what="the execution waiting at its Wait node")
        stale = await call(session, "resume_execution", execution_id=waiting["id"], node="Start")
        assert stale.is_error and "409" in text(stale)
        value(await call(session, "resume_execution", execution_id=waiting["id"], node="Approval",
                         body={"approved": True}))
        done = value(await call(session, "wait_for_execution", execution_id=waiting["id"], timeout_s=30))
        assert done["done"] is True and done["status"] == "completed", done
        assert done["result"][0]["json"]["body"] == {"approved": True}
    async with stdio_session(stack, "viewer") as session:
        refused = await call(session, "create_workflow", workflow=WORKFLOW)
        assert refused.is_error and "403" in text(refused)
        assert value(await call(session, "get_workflow", workflow_id=created["id"]))["id"] == created["id"]
