"""A real MCP server (the official SDK's MCPServer, formerly FastMCP) with a few tools, for tests.

    python -m tests.fakes.mcp_server                  # stdio
    served_over_http(port)                            # streamable HTTP at http://127.0.0.1:<port>/mcp, in-process

Tools: add(a, b) -> int; echo(text) -> str; refuse(reason) (a tool error); hang(pid_file) (writes its pid, then
never returns); whoami() -> the HTTP request's x-api-key header (empty on stdio); weather(city) -> a structured dict.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("hive-test-tools", log_level="WARNING")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def echo(text: str) -> str:
    """Say the text back."""
    return text


@server.tool()
def refuse(reason: str) -> str:
    """Always fails, with the reason as its error."""
    raise ToolError(f"refused: {reason}")


@server.tool()
async def hang(pid_file: str) -> str:
    """Writes this process's pid to pid_file, then never returns (for cancellation tests)."""
    Path(pid_file).write_text(str(os.getpid()))
    await asyncio.Event().wait()
    return "unreachable"


@server.tool()
def whoami(ctx: Context) -> str:
    """The x-api-key header of the HTTP request that called this tool (empty over stdio)."""
    headers = ctx.headers or {}
    return str(headers.get("x-api-key", ""))


@server.tool()
def weather(city: str) -> dict[str, Any]:
    """A structured result."""
    return {"city": city, "celsius": 21.5, "sky": "clear"}


@contextlib.asynccontextmanager
async def served_over_http(port: int) -> AsyncIterator[str]:
    """The server on streamable HTTP (uvicorn, in this event loop) until the block ends; yields its URL."""
    import uvicorn

    from tests.helpers import wait_until

    app = server.streamable_http_app()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    runner = uvicorn.Server(config)
    task = asyncio.create_task(runner.serve())
    def started() -> bool:
        if task.done():
            task.result()  # surface a start-up failure instead of waiting out the deadline
        return bool(runner.started)

    try:
        await wait_until(started, what="the MCP server listening")
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        runner.should_exit = True
        await task


if __name__ == "__main__":
    sys.exit(server.run())
