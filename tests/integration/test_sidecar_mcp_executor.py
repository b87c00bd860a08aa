"""The sidecar's mcp executor against real MCP servers (the SDK's MCPServer): over stdio (a process per call) and
streamable HTTP (served in the test); results, tool errors, refusals, timeouts and cancellation."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from agent_sidecar.executors.mcp_tool import McpToolExecutor
from agent_sidecar.kind_config import McpConfig, McpHttpServer, McpServer, McpStdioServer
from core.dev.ports import free_port
from core.messages import Dispatch
from tests.fakes.mcp_server import served_over_http
from tests.helpers import wait_until

REPO = Path(__file__).resolve().parents[2]


def stdio_server(**fields: Any) -> McpStdioServer:
    return McpStdioServer(command=sys.executable, args=["-m", "tests.fakes.mcp_server"], cwd=str(REPO), **fields)


def executor(**servers: McpServer) -> McpToolExecutor:
    return McpToolExecutor(McpConfig(servers=servers or {"tools": stdio_server()}))


def job(**payload: Any) -> Dispatch:
    return Dispatch(task_id="t", attempt=1, title="t", payload={"kind": "mcp", **payload})


@pytest.fixture
async def http_url() -> AsyncIterator[str]:
    async with served_over_http(free_port()) as url:
        yield url


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie still answers kill(0): count it as gone once it is no longer running.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True


async def test_a_stdio_tool_result_is_the_output() -> None:
    run = executor().run
    added = await run(job(server="tools", tool="add", arguments={"a": 2, "b": 40}), None)
    assert added.ok, added.error
    assert orjson.loads(added.output) == {"content": [{"type": "text", "text": "42"}],
                                          "structuredContent": {"result": 42}, "isError": False}
    structured = await run(job(server="tools", tool="weather", arguments={"city": "Oslo"}), None)
    assert orjson.loads(structured.output)["structuredContent"] == {"city": "Oslo", "celsius": 21.5, "sky": "clear"}


async def test_a_tool_error_fails_the_task_for_good_with_the_result_as_output() -> None:
    result = await executor().run(job(server="tools", tool="refuse", arguments={"reason": "no way"}), None)
    assert not result.ok and not result.retryable
    assert "tool refuse on tools returned an error" in result.error and "refused: no way" in result.error
    output = orjson.loads(result.output)
    assert output["isError"] is True and "refused: no way" in output["content"][0]["text"]
    unknown = await executor().run(job(server="tools", tool="no_such_tool"), None)
    assert not unknown.ok and not unknown.retryable and "no_such_tool" in unknown.error


async def test_a_server_not_in_the_config_is_refused() -> None:
    result = await executor().run(job(server="elsewhere", tool="add"), None)
    assert not result.ok and not result.retryable
    assert "server 'elsewhere' is not in this agent's [mcp] servers (it has: tools)" in result.error


@pytest.mark.parametrize(("payload", "where"), [
    ({"tool": "add"}, "`$.payload`"),
    ({"server": "tools", "tool": 7}, "`$.payload.tool`"),
    ({"server": "tools", "tool": "add", "arguments": [1, 2]}, "`$.payload.arguments`"),
])
async def test_malformed_payloads_fail_for_good_naming_the_field(payload: dict[str, Any], where: str) -> None:
    result = await executor().run(job(**payload), None)
    assert not result.ok and not result.retryable and where in result.error


async def test_streamable_http_with_the_configured_headers(http_url: str) -> None:
    run = executor(remote=McpHttpServer(url=http_url, headers={"X-Api-Key": "key-1"})).run
    who = await run(job(server="remote", tool="whoami"), None)
    assert who.ok, who.error
    assert orjson.loads(who.output)["structuredContent"] == {"result": "key-1"}
    echoed = await run(job(server="remote", tool="echo", arguments={"text": "über"}), None)
    assert orjson.loads(echoed.output)["content"] == [{"type": "text", "text": "über"}]


async def test_unreachable_servers_are_retryable() -> None:
    down = await executor(remote=McpHttpServer(url=f"http://127.0.0.1:{free_port()}/mcp")).run(
        job(server="remote", tool="echo", arguments={"text": "x"}), None)
    assert not down.ok and down.retryable and "calling echo on remote failed" in down.error
    missing = await executor(local=McpStdioServer(command="/nonexistent/mcp-server")).run(
        job(server="local", tool="echo"), None)
    assert not missing.ok and missing.retryable and "FileNotFoundError" in missing.error


async def test_cancelling_the_run_stops_the_stdio_server(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    running = asyncio.create_task(executor().run(job(server="tools", tool="hang",
                                                     arguments={"pid_file": str(pid_file)}), None))
    await wait_until(lambda: pid_file.exists() and pid_file.read_text(), what="the tool to start")
    pid = int(pid_file.read_text())
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    await wait_until(lambda: gone(pid), what=f"server process {pid} stopped")


async def test_the_servers_timeout_stops_the_call(http_url: str, tmp_path: Path) -> None:
    # Over HTTP, so the limit is not spent starting a process; the stdio process's end is the cancel test's.
    result = await executor(remote=McpHttpServer(url=http_url, timeout_s=0.5)).run(
        job(server="remote", tool="hang", arguments={"pid_file": str(tmp_path / "pid")}), None)
    assert not result.ok and result.retryable and "gave no result within 0.5s" in result.error
    assert (tmp_path / "pid").exists()  # the tool was running when the limit stopped it
