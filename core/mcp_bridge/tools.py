"""The MCP tools `hive mcp` offers: tasks, agents, workflows, executions and cluster status, each one call (or a
poll) of the gateway's HTTP API with the caller's token, so the token's role decides what a tool may do."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from core.mcp_bridge.gateway import Gateway, GatewayError

# The task statuses after which nothing more happens (core.domain.task.TERMINAL, as the API spells them).
TASK_DONE = frozenset({"completed", "failed", "cancelled", "timed_out"})
EXECUTION_DONE = frozenset({"completed", "failed", "cancelled"})  # `waiting` (for a resume) is not done
# Waiting polls the gateway, first often (short tasks), then every few seconds.
POLL_FIRST_S, POLL_MAX_S = 0.2, 2.0
WAIT_MAX_S = 600.0

TokenOf = Callable[[Context], "str | None"]

INSTRUCTIONS = (
    "Hive runs AI tasks on a fleet of GPU hosts. Create a task with a prompt (and the capabilities or model it "
    "needs), then wait_for_task to get its output. Workflows are n8n exports: create_workflow, execute_workflow, "
    "then get_execution. Every call acts with your Hive token, whose role decides what is allowed."
)


def _id(value: str) -> str:
    return quote(value, safe="")


def build_server(gateway: Gateway, token_of: TokenOf, *, name: str = "hive") -> MCPServer:
    """An MCP server whose tools call `gateway` with the token `token_of` finds for each request."""
    server = MCPServer(name, instructions=INSTRUCTIONS, log_level="WARNING")

    async def call(ctx: Context, method: str, path: str, *, body: Any = None,
                   params: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            answer: dict[str, Any] = await gateway.call(method, path, token_of(ctx), body=body, params=params)
            return answer
        except GatewayError as err:
            # A ToolError reaches the caller as an error result with this text (other exceptions are masked).
            raise ToolError(str(err)) from err

    async def wait(ctx: Context, path: str, done: frozenset[str], timeout_s: float) -> dict[str, Any]:
        deadline = time.monotonic() + min(max(timeout_s, 0.0), WAIT_MAX_S)
        interval = POLL_FIRST_S
        while True:
            current = await call(ctx, "GET", path)
            finished = current.get("status") in done
            if finished or time.monotonic() >= deadline:
                return {"done": finished, **current}
            await asyncio.sleep(min(interval, max(deadline - time.monotonic(), 0.0)))
            interval = min(interval * 2, POLL_MAX_S)

    # --- tasks -------------------------------------------------------------------------------------------------
    @server.tool()
    async def create_task(ctx: Context, title: str, prompt: str = "", capabilities: list[str] | None = None,
                          model: str | None = None, priority: int = 0, payload: dict[str, Any] | None = None,
                          depends_on: list[str] | None = None, max_attempts: int = 1, timeout_s: float | None = None,
                          description: str = "") -> dict[str, Any]:
        """Create a task. It runs on an agent that has every capability listed (and the model, if named). Returns
        the task with its id; use wait_for_task to get its output."""
        body: dict[str, Any] = {"title": title, "prompt": prompt, "priority": priority, "max_attempts": max_attempts,
                                "description": description}
        optional = {"capabilities": capabilities, "model": model, "payload": payload, "depends_on": depends_on,
                    "timeout_s": timeout_s}
        body.update({k: v for k, v in optional.items() if v is not None})
        return await call(ctx, "POST", "/api/tasks", body=body)

    @server.tool()
    async def get_task(ctx: Context, task_id: str) -> dict[str, Any]:
        """A task: status, agent, attempt, result (output) or error."""
        return await call(ctx, "GET", f"/api/tasks/{_id(task_id)}")

    @server.tool()
    async def list_tasks(ctx: Context, status: str | None = None, limit: int = 20, cursor: str | None = None,
                         dead_lettered: bool | None = None) -> dict[str, Any]:
        """Tasks, newest first: `items` and `next_cursor` (pass it back as cursor for the next page). status is one
        of pending, queued, assigned, running, completed, failed, cancelled, timed_out."""
        return await call(ctx, "GET", "/api/tasks", params={
            "status": status, "limit": limit, "cursor": cursor,
            "dead_lettered": None if dead_lettered is None else str(dead_lettered).lower()})

    @server.tool()
    async def cancel_task(ctx: Context, task_id: str) -> dict[str, Any]:
        """Cancel a task: at once if it has not started, else it is stopped on its agent and ends cancelled."""
        return await call(ctx, "DELETE", f"/api/tasks/{_id(task_id)}")

    @server.tool()
    async def wait_for_task(ctx: Context, task_id: str, timeout_s: float = 60.0) -> dict[str, Any]:
        """Wait until the task ends (completed, failed, cancelled, timed_out) or timeout_s passes (at most 600);
        returns the task with `done` true when it ended."""
        return await wait(ctx, f"/api/tasks/{_id(task_id)}", TASK_DONE, timeout_s)

    @server.tool()
    async def task_events(ctx: Context, task_id: str, limit: int = 100, cursor: str | None = None) -> dict[str, Any]:
        """The task's history from the event log, oldest first (each event with its seq, type, time, actor)."""
        return await call(ctx, "GET", f"/api/tasks/{_id(task_id)}/events",
                          params={"limit": limit, "cursor": cursor})

    # --- agents and the cluster --------------------------------------------------------------------------------
    @server.tool()
    async def list_agents(ctx: Context, limit: int = 50, cursor: str | None = None) -> dict[str, Any]:
        """The agents (GPU hosts): status, capabilities, models, slots."""
        return await call(ctx, "GET", "/api/agents", params={"limit": limit, "cursor": cursor})

    @server.tool()
    async def get_agent(ctx: Context, agent_id: str) -> dict[str, Any]:
        """One agent, with its latest heartbeat."""
        return await call(ctx, "GET", f"/api/agents/{_id(agent_id)}")

    @server.tool()
    async def cluster_status(ctx: Context) -> dict[str, Any]:
        """The cluster at a glance: agents by status, tasks by status, capacity."""
        return await call(ctx, "GET", "/api/status/cluster")

    # --- workflows and executions ------------------------------------------------------------------------------
    @server.tool()
    async def create_workflow(ctx: Context, workflow: dict[str, Any]) -> dict[str, Any]:
        """Upload a workflow: an n8n export (`name`, `nodes`, `connections`, optional `settings`). An unknown node
        type, a cycle or a missing parameter is refused naming the node."""
        return await call(ctx, "POST", "/api/workflows", body=workflow)

    @server.tool()
    async def list_workflows(ctx: Context, limit: int = 50, cursor: str | None = None) -> dict[str, Any]:
        """The workflows, with their latest version."""
        return await call(ctx, "GET", "/api/workflows", params={"limit": limit, "cursor": cursor})

    @server.tool()
    async def get_workflow(ctx: Context, workflow_id: str) -> dict[str, Any]:
        """One workflow and its document."""
        return await call(ctx, "GET", f"/api/workflows/{_id(workflow_id)}")

    @server.tool()
    async def update_workflow(ctx: Context, workflow_id: str, workflow: dict[str, Any]) -> dict[str, Any]:
        """Store a new version of a workflow (executions already started keep the version they started with)."""
        return await call(ctx, "PUT", f"/api/workflows/{_id(workflow_id)}", body=workflow)

    @server.tool()
    async def execute_workflow(ctx: Context, workflow_id: str, items: list[dict[str, Any]] | None = None,
                               body: Any = None, chat_input: str | None = None, session_id: str | None = None,
                               trigger: str | None = None) -> dict[str, Any]:
        """Start an execution of a workflow's latest version. Optional: `items` for the trigger (n8n's
        [{"json": {...}}]), `body` for a webhook trigger, `chat_input` (and `session_id`) for a chat trigger,
        `trigger` to pick the trigger node. Returns the execution; follow it with wait_for_execution."""
        fields = {"items": items, "body": body, "chat_input": chat_input, "session_id": session_id,
                  "trigger": trigger}
        return await call(ctx, "POST", f"/api/workflows/{_id(workflow_id)}/execute",
                          body={k: v for k, v in fields.items() if v is not None})

    @server.tool()
    async def list_executions(ctx: Context, workflow_id: str | None = None, status: str | None = None,
                              limit: int = 20, cursor: str | None = None) -> dict[str, Any]:
        """Executions, newest first, optionally of one workflow and in one status (requested, running, waiting,
        completed, failed, cancelled); pass `next_cursor` back as cursor for the next page."""
        return await call(ctx, "GET", "/api/executions", params={
            "workflow_id": workflow_id, "status": status, "limit": limit, "cursor": cursor})

    @server.tool()
    async def get_execution(ctx: Context, execution_id: str) -> dict[str, Any]:
        """An execution: its status, its nodes' progress and, once done, its result items."""
        return await call(ctx, "GET", f"/api/executions/{_id(execution_id)}")

    @server.tool()
    async def wait_for_execution(ctx: Context, execution_id: str, timeout_s: float = 60.0) -> dict[str, Any]:
        """Wait until the execution ends (completed, failed, cancelled) or timeout_s passes (at most 600); returns
        it with `done` true when it ended."""
        return await wait(ctx, f"/api/executions/{_id(execution_id)}", EXECUTION_DONE, timeout_s)

    @server.tool()
    async def resume_execution(ctx: Context, execution_id: str, node: str, body: dict[str, Any] | None = None) -> \
            dict[str, Any]:
        """Resume an execution `waiting` at a Wait node (`node`, its name) that waits for a webhook or a form: for a
        webhook the node emits `body` (as the JSON posted), for a form `body` is the form's fields by label."""
        return await call(ctx, "POST", f"/api/executions/{_id(execution_id)}/resume", body=body or {},
                          params={"node": node})

    @server.tool()
    async def cancel_execution(ctx: Context, execution_id: str) -> dict[str, Any]:
        """Cancel an execution and the tasks it has running."""
        return await call(ctx, "DELETE", f"/api/executions/{_id(execution_id)}")

    return server
