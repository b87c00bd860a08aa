"""Nodes that run on agents: one Hive task per input item (HTTP, agent task, MCP tool, chainLlm), and how
each task's result becomes the node's output items."""

from __future__ import annotations

import json
from typing import Any

import msgspec

from core.workflows.catalog import AGENT_TASK, CHAIN_LLM, HTTP, LLM_CAPABILITY, MCP_TOOL
from core.workflows.context import RunView
from core.workflows.errors import NodeFailed
from core.workflows.expr_values import from_json, to_string
from core.workflows.items import Item
from core.workflows.model import Node, Workflow
from core.workflows.node_credentials import http_capabilities
from core.workflows.node_http import http_request
from core.workflows.node_http_items import response_items
from core.workflows.node_params import option, resolve_param

MAX_TRIES = 5  # as n8n's own limit
_OLLAMA_OPTIONS = {"temperature": "temperature", "topP": "top_p", "topK": "top_k", "numPredict": "num_predict",
                   "numCtx": "num_ctx", "repeatPenalty": "repeat_penalty", "seed": "seed"}


class TaskRequest(msgspec.Struct, frozen=True, kw_only=True):
    """One task a node asks for, for its input item `item_index`."""

    item_index: int
    title: str
    capabilities: list[str]
    prompt: str = ""
    model: str | None = None
    payload: dict[str, Any] = {}
    max_attempts: int = 1
    timeout_s: float | None = None


class ItemResult(msgspec.Struct, frozen=True, kw_only=True):
    """How one item's task ended: its output text, or its error (and output, for an HTTP error response)."""

    task_id: str
    ok: bool
    output: str = ""
    error: str = ""


def _text(value: Any) -> str:
    """A parameter as text: an expression that came out undefined or null is empty, not "null"."""
    return "" if value is None else to_string(value)


def max_attempts(node: Node) -> int:
    return max(1, min(node.max_tries, MAX_TRIES)) if node.retry_on_fail else 1


def _json_param(node: Node, name: str, value: Any) -> Any:
    if isinstance(value, str):
        try:
            return from_json(value) if value.strip() else {}
        except Exception as err:  # noqa: BLE001 - any parse failure is the same message
            raise NodeFailed(f"node {node.name!r}: parameter {name} is not valid JSON") from err
    return value


def _llm(workflow: Workflow, node: Node, models: list[str], view: RunView, items: list[Item], i: int) -> TaskRequest:
    model_node = workflow.node(models[0])
    model = to_string(resolve_param(model_node, "model", view, items, i))
    if node.parameters.get("promptType") == "define":
        prompt = _text(resolve_param(node, "text", view, items, i))
    else:
        chat = items[i].json.get("chatInput")
        if not isinstance(chat, str):
            raise NodeFailed(f"node {node.name!r}: the incoming item has no chatInput; set the prompt "
                             "('promptType': 'define' with 'text')", i)
        prompt = chat
    messages = option(resolve_param(node, "messages", view, items, i, {}), "messageValues", default=[]) or []
    system = [to_string(m.get("message", "")) for m in messages if isinstance(m, dict) and m.get("message")]
    model_options = option(resolve_param(model_node, "options", view, items, i, {}), default={}) or {}
    ollama = {_OLLAMA_OPTIONS[k]: v for k, v in model_options.items() if k in _OLLAMA_OPTIONS}
    return TaskRequest(
        item_index=i, title=f"{node.name} (item {i})", capabilities=[LLM_CAPABILITY], model=model,
        prompt="\n\n".join([*system, prompt]),
        payload={"kind": "llm", **({"options": ollama} if ollama else {})}, max_attempts=max_attempts(node),
    )


def task_request(workflow: Workflow, node: Node, models: list[str], view: RunView, items: list[Item],
                 i: int) -> TaskRequest:
    """The task for item `i` of a task node; NodeFailed (naming the node and parameter) when it cannot be built."""
    title = f"{node.name} (item {i})"
    attempts = max_attempts(node)
    if node.type == HTTP:
        request = http_request(node, view, items, i)
        return TaskRequest(item_index=i, title=title, capabilities=http_capabilities(request),
                           payload={"kind": "http", "request": request},
                           max_attempts=attempts, timeout_s=request["timeout_s"])
    if node.type == AGENT_TASK:
        model = resolve_param(node, "model", view, items, i)
        timeout = resolve_param(node, "timeout_s", view, items, i)
        return TaskRequest(
            item_index=i, title=title, capabilities=[to_string(resolve_param(node, "capability", view, items, i))],
            model=_text(model) if model else None, prompt=_text(resolve_param(node, "prompt", view, items, i)),
            payload={"kind": "agent"}, max_attempts=attempts,
            timeout_s=float(timeout) if isinstance(timeout, int | float) and timeout > 0 else None)
    if node.type == MCP_TOOL:
        arguments = resolve_param(node, "arguments", view, items, i, {})
        arguments = _json_param(node, "arguments", arguments)
        if not isinstance(arguments, dict):
            raise NodeFailed(f"node {node.name!r}: parameter arguments must be an object", i)
        return TaskRequest(item_index=i, title=title, capabilities=["mcp"], payload={
            "kind": "mcp", "server": to_string(resolve_param(node, "server", view, items, i)),
            "tool": to_string(resolve_param(node, "tool", view, items, i)), "arguments": arguments},
            max_attempts=attempts)
    if node.type == CHAIN_LLM:
        return _llm(workflow, node, models, view, items, i)
    raise NodeFailed(f"node {node.name!r} ({node.type}) does not run as a task")


def never_errors(node: Node) -> bool:
    p = node.parameters
    if node.type_version < 3:
        return option(p, "options", "ignoreResponseCode") is True
    return option(p, "options", "response", "response", "neverError") is True


def _response(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) and isinstance(value.get("status"), int) else None


def success_items(node: Node, result: ItemResult) -> list[dict[str, Any]]:
    """The json of the items one successful task gives (an HTTP body that is a list gives one item each)."""
    if node.type == HTTP:
        response = _response(result.output)
        if response is None:
            return [{"data": result.output}]
        return response_items(node, response)
    if node.type == MCP_TOOL:
        try:
            value = json.loads(result.output) if result.output else {}
        except ValueError:
            value = {"output": result.output}
        data = value if isinstance(value, dict) else {"result": value}
        return [{**data, "task_id": result.task_id}]
    if node.type == CHAIN_LLM:
        return [{"text": result.output, "task_id": result.task_id}]
    return [{"output": result.output, "task_id": result.task_id}]


def failure_passes(node: Node, result: ItemResult) -> list[dict[str, Any]] | None:
    """A failed HTTP task whose response the node treats as success (v3+ neverError, v1/v2 ignoreResponseCode):
    requests now say `never_error` and succeed, but a result recorded before they did is a failure with the response."""
    if node.type != HTTP or not never_errors(node):
        return None
    response = _response(result.output)
    return response_items(node, response) if response is not None else None


def error_json(node: Node, result: ItemResult) -> dict[str, Any]:
    """An error item's json: the error, and for HTTP the response that caused it."""
    data: dict[str, Any] = {"error": result.error or "task failed", "task_id": result.task_id}
    response = _response(result.output) if node.type == HTTP else None
    if response is not None:
        data["statusCode"] = response["status"]
        data["body"] = response.get("body")
    return data
