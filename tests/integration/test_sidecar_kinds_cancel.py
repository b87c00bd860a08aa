"""Cancelling an mcp task through the gateway, or its timeout, stops the tool call on the agent and kills the stdio
MCP server's process (the whole fleet in this process: gateway, projector, coordinator, sidecar)."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from core.settings import Settings
from tests.helpers import wait_until
from tests.integration.fleet_stack import Fleet, fleet
from tests.integration.test_gateway_support import auth

REPO = Path(__file__).resolve().parents[2]
MCP = {"servers": {"tools": {"transport": "stdio", "command": sys.executable,
                             "args": ["-m", "tests.fakes.mcp_server"], "cwd": str(REPO)}}}


@pytest.fixture
async def stack(settings: Settings) -> AsyncIterator[Fleet]:
    async with fleet(settings) as running:
        await running.sidecar(mcp=MCP, max_concurrency=2)
        yield running


def stopped(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:  # a zombie (exited, not yet reaped) has stopped too
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def hang_task(pid_file: Path, **fields: Any) -> dict[str, Any]:
    return {"title": "hang", "capabilities": ["mcp"], **fields,
            "payload": {"kind": "mcp", "server": "tools", "tool": "hang", "arguments": {"pid_file": str(pid_file)}}}


async def server_pid(pid_file: Path) -> int:
    await wait_until(lambda: pid_file.exists() and pid_file.read_text(), what="the tool running")
    return int(pid_file.read_text())


async def test_cancelling_a_running_mcp_task_kills_its_server(stack: Fleet, tmp_path: Path) -> None:
    pid_file = tmp_path / f"{uuid.uuid4().hex}.pid"
    task = await stack.create(**hang_task(pid_file))
    pid = await server_pid(pid_file)
    await stack.reaches(task["id"], "running")
    resp = await stack.client.delete(f"/api/tasks/{task['id']}", headers=auth(stack.settings))
    assert resp.status_code == 202, resp.text
    await stack.reaches(task["id"], "cancelled")
    await wait_until(lambda: stopped(pid), what=f"MCP server {pid} stopped")


async def test_the_task_timeout_kills_the_server(stack: Fleet, tmp_path: Path) -> None:
    pid_file = tmp_path / f"{uuid.uuid4().hex}.pid"
    # Long enough to start the server on a busy machine; the tool never returns, so the limit always ends it.
    task = await stack.create(**hang_task(pid_file, timeout_s=6))
    pid = await server_pid(pid_file)
    await wait_until(lambda: stopped(pid), what=f"MCP server {pid} stopped at the timeout")

    async def timed_out() -> bool:
        resp = await stack.client.get(f"/api/tasks/{task['id']}/events", headers=auth(stack.settings, "viewer"))
        return any(e["data"].get("reason") == "timed_out" or e["type"] == "task.timed_out.v1"
                   for e in resp.json()["items"])

    await wait_until(timed_out, what="the attempt recorded as timed out")
    # A timed-out attempt may be retried; end the task rather than wait out its retries.
    await stack.client.delete(f"/api/tasks/{task['id']}", headers=auth(stack.settings))
