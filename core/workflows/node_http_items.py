"""The items an HTTP Request node emits for one response, as n8n shapes them per typeVersion: the body (an array
one item per element from v3, or with v1/v2's splitIntoItems), text in `data` (or the field the node names), or
`{body, headers, statusCode, statusMessage}` for a full response; pure."""

from __future__ import annotations

import json
from typing import Any

from core.workflows.model import Node
from core.workflows.node_params import option


def response_items(node: Node, response: dict[str, Any]) -> list[dict[str, Any]]:
    """`response` is the http executor's output: `{"status", "status_message", "headers", "body"}`."""
    p = node.parameters
    if node.type_version < 3:
        fmt = "text" if p.get("responseFormat") == "string" else "json"
        full = option(p, "options", "fullResponse") is True
        field = p.get("dataPropertyName") or "data"
        split = option(p, "options", "splitIntoItems") is True
    else:
        settings = option(p, "options", "response", "response", default={})
        settings = settings if isinstance(settings, dict) else {}
        fmt = settings.get("responseFormat", "autodetect")
        full = settings.get("fullResponse") is True
        field = settings.get("outputPropertyName") or "data"
        split = True
    body = response.get("body")
    if fmt not in ("json", "text"):
        # autodetect (and "file", which Hive keeps as text): the executor parsed JSON bodies and left others as text
        fmt = "text" if isinstance(body, str) or body is None else "json"
        if body == "" or body is None:
            body = None  # n8n leaves an empty autodetected body undefined
    if fmt == "text":
        text = _text(body)
        shaped = {str(field): text} if text is not None else {}
        return [{**shaped, **_meta(response)} if full else shaped]
    if body == "" or body is None:
        body = {}
    if full:
        return [{"body": body, **_meta(response)}]
    if isinstance(body, list):
        if split:
            return [b if isinstance(b, dict) else {"data": b} for b in body]
        # v1/v2 without splitIntoItems keep the array as one item's json, which JavaScript reads by index.
        return [{str(k): v for k, v in enumerate(body)}]
    return [body if isinstance(body, dict) else {"data": body}]


def _meta(response: dict[str, Any]) -> dict[str, Any]:
    return {"headers": response.get("headers", {}), "statusCode": response.get("status"),
            "statusMessage": response.get("status_message", "")}


def _text(body: Any) -> str | None:
    if body is None or isinstance(body, str):
        return body
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))
