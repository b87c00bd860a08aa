"""The `mcp` executor: calls one tool on one of the agent's configured MCP servers (stdio or streamable HTTP) with
the official SDK. Imported only when a sidecar config has an [mcp] table (the SDK is the `mcp` extra)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx2
import msgspec
import orjson
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import CONNECTION_CLOSED, CallToolResult

from agent_sidecar.errors import located
from agent_sidecar.executors.base import ExecutionResult, OnChunk
from agent_sidecar.kind_config import McpConfig, McpHttpServer, McpServer
from core.messages import Dispatch

# How much of a failing tool's text goes into the task's error (all of it is in the output).
_ERROR_TEXT_MAX = 500


class ToolCall(msgspec.Struct, frozen=True, kw_only=True):
    server: str
    tool: str
    arguments: dict[str, Any] = {}


class McpToolExecutor:
    name = "mcp"

    def __init__(self, config: McpConfig) -> None:
        self.config = config

    async def run(self, job: Dispatch, on_chunk: OnChunk | None) -> ExecutionResult:
        fields = {k: v for k, v in job.payload.items() if k in ("server", "tool", "arguments")}
        try:
            call = msgspec.convert(fields, ToolCall)
        except msgspec.ValidationError as err:
            return ExecutionResult.failure(f'mcp: {located(str(err), "$.payload")} (an mcp task\'s payload is {{"kind": "mcp", "server": ..., '
                                           '"tool": ..., "arguments": {...}}})', retryable=False)
        server = self.config.servers.get(call.server)
        if server is None:
            known = ", ".join(sorted(self.config.servers)) or "none"
            return ExecutionResult.failure(f"mcp: server {call.server!r} is not in this agent's [mcp] servers "
                                           f"(it has: {known}) - at `$.payload.server`", retryable=False)
        try:
            async with asyncio.timeout(server.timeout_s):
                result = await call_tool(server, call.tool, call.arguments)
        except TimeoutError:
            return ExecutionResult.failure(f"mcp: {call.server}.{call.tool} gave no result within {server.timeout_s:g}s",
                                           retryable=True)
        except Exception as err:  # noqa: BLE001 - the SDK raises transport errors inside exception groups
            return _call_failure(call, err)
        return _result(call, result)


async def call_tool(server: McpServer, tool: str, arguments: dict[str, Any]) -> CallToolResult:
    """One session per call: connect (start the process, or open the HTTP session), initialize, call, close.
    Cancelling the caller closes the session and stops the server process (the SDK kills its process tree)."""
    async with _session(server) as session:
        await session.initialize()
        result = await session.call_tool(tool, arguments)
    assert isinstance(result, CallToolResult)  # input-required and claimed results raise in the SDK instead
    return result


@contextlib.asynccontextmanager
async def _session(server: McpServer) -> AsyncIterator[ClientSession]:
    if isinstance(server, McpHttpServer):
        client = httpx2.AsyncClient(headers=server.headers, timeout=httpx2.Timeout(30.0, read=server.timeout_s))
        async with client, streamable_http_client(server.url, http_client=client) as (read, write), \
                ClientSession(read, write) as session:
            yield session
        return
    params = StdioServerParameters(command=server.command, args=list(server.args), env=dict(server.env) or None,
                                   cwd=server.cwd)
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        yield session


def tool_output(result: CallToolResult) -> dict[str, Any]:
    """The task's output: the tool result's content blocks and structured content, as MCP names them."""
    dumped = result.model_dump(by_alias=True, exclude_none=True, mode="json")
    return {"content": dumped.get("content", []), "structuredContent": dumped.get("structuredContent"),
            "isError": bool(result.is_error)}


def _result(call: ToolCall, result: CallToolResult) -> ExecutionResult:
    output = tool_output(result)
    text = orjson.dumps(output).decode()
    if not result.is_error:
        return ExecutionResult.success(text)
    said = " ".join(b["text"] for b in output["content"] if isinstance(b, dict) and b.get("type") == "text")
    # The tool ran and said no: the same arguments will get the same answer.
    return ExecutionResult.failure(f"mcp: tool {call.tool} on {call.server} returned an error: "
                                   f"{said[:_ERROR_TEXT_MAX] or 'no text'}", retryable=False, output=text)


def _call_failure(call: ToolCall, err: Exception) -> ExecutionResult:
    leaves = list(_leaves(err))
    detail = "; ".join(f"{type(e).__name__}: {e}" for e in leaves) or repr(err)
    # A JSON-RPC error from the server (bad params, unknown method) is its answer; anything else (cannot start the
    # process, connection refused or closed) may pass on another try or another agent.
    refused = any(isinstance(e, MCPError) and e.error.code != CONNECTION_CLOSED for e in leaves)
    return ExecutionResult.failure(f"mcp: calling {call.tool} on {call.server} failed: {detail}",
                                   retryable=not refused)


def _leaves(err: BaseException) -> Iterator[BaseException]:
    if isinstance(err, BaseExceptionGroup):
        for inner in err.exceptions:
            yield from _leaves(inner)
    else:
        yield err
