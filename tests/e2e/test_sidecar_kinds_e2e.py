"""A `hive sidecar` process with [http] and [mcp] tables runs real dispatches of both kinds: tasks submitted over
HTTP to the gateway, placed by the coordinator on the agent by capability, results in the read model."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from core.settings import Settings
from tests.e2e.kinds_sidecar import kinds_sidecar
from tests.e2e.processes import ProcessStack
from tests.fakes.http_target import HttpTarget
from tests.helpers import wait_until
from tests.integration.fleet_stack import Fleet
from tests.integration.test_gateway_support import auth

pytestmark = pytest.mark.e2e

AGENT = "kinds-agent"


@pytest.fixture
async def running(settings: Settings) -> AsyncIterator[tuple[Fleet, HttpTarget, ProcessStack]]:
    async with kinds_sidecar(settings, AGENT, "sidecar-kinds") as (stack, target, processes):
        yield stack, target, processes


async def test_a_sidecar_process_runs_http_and_mcp_tasks(running: tuple[Fleet, HttpTarget, ProcessStack]) -> None:
    stack, target, processes = running
    async def projected() -> dict[str, Any] | None:
        resp = await stack.client.get(f"/api/agents/{AGENT}", headers=auth(stack.settings, "viewer"))
        return dict(resp.json()) if resp.status_code == 200 else None

    agent = await wait_until(projected, what="the agent in the read model")
    assert agent["capabilities"] == {"echo": 1.0, "http": 1.0, "mcp": 1.0}

    http_task = await stack.create(capabilities=["http"], payload={"kind": "http", "request": {
        "method": "POST", "url": f"{target.url}/echo", "query": {"q": "hive"}, "body": {"n": 1}}})
    mcp_task = await stack.create(capabilities=["mcp"], payload={
        "kind": "mcp", "server": "tools", "tool": "add", "arguments": {"a": 20, "b": 22}})
    plain = await stack.create(capabilities=["echo"], prompt="no kind: the main executor")
    missing = await stack.create(capabilities=["http"], payload={"kind": "http", "request": {
        "url": f"{target.url}/status/404"}})
    refused = await stack.create(capabilities=["mcp"], payload={
        "kind": "mcp", "server": "tools", "tool": "refuse", "arguments": {"reason": "not today"}})

    done = await stack.reaches(http_task["id"], "completed")
    output: dict[str, Any] = orjson.loads(done["result"]["output"])
    assert output["status"] == 200 and output["body"]["method"] == "POST"
    assert output["body"]["query"] == {"q": ["hive"]} and orjson.loads(output["body"]["body"]) == {"n": 1}
    assert done["assigned_agent_id"] == AGENT

    added = await stack.reaches(mcp_task["id"], "completed")
    assert orjson.loads(added["result"]["output"])["structuredContent"] == {"result": 42}
    assert (await stack.reaches(plain["id"], "completed"))["result"]["output"] == "no kind: the main executor"

    not_found = await stack.reaches(missing["id"], "failed")
    assert "answered 404" in not_found["error"]
    said_no = await stack.reaches(refused["id"], "failed")
    assert "refused: not today" in said_no["error"]
    assert processes.alive("sidecar-kinds")
