"""Triggers' items, Wait's resume time, and Respond to Webhook's recorded response."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from core.workflows.catalog import CHAT_TRIGGER, MANUAL_CHAT_TRIGGER, WEBHOOK
from core.workflows.context import RunView
from core.workflows.errors import NodeFailed
from core.workflows.expr_values import from_json, to_number, to_string
from core.workflows.items import Item, derive, from_plain
from core.workflows.model import Node, Workflow
from core.workflows.node_params import option, resolve_param

_UNITS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
MAX_WAIT = timedelta(days=365)


class TriggerInput(msgspec.Struct, frozen=True, kw_only=True):
    """What an execution was started with: items, or a webhook body, or a chat message."""

    items: list[dict[str, Any]] | None = None
    body: Any = None
    chat_input: str | None = None
    session_id: str | None = None


def trigger_items(workflow: Workflow, node: Node, given: TriggerInput) -> list[Item]:
    pinned = (workflow.pin_data or {}).get(node.name)
    if given.items is not None:
        raw = from_plain(given.items)
    elif pinned:
        raw = from_plain(pinned)
    elif node.type in (CHAT_TRIGGER, MANUAL_CHAT_TRIGGER):
        raw = [Item(json={"sessionId": given.session_id or "", "action": "sendMessage",
                          "chatInput": given.chat_input or ""})]
    elif node.type == WEBHOOK:
        raw = [Item(json={"headers": {}, "params": {}, "query": {}, "body": given.body if given.body is not None else {},
                          "webhookUrl": "", "executionMode": "production"})]
    else:
        raw = [Item(json={})]
    return [derive(None, item.json, node.name, 0, i, item.binary) for i, item in enumerate(raw)]


def resume_at(node: Node, items: list[Item], view: RunView, now: datetime) -> datetime:
    """When a Wait node lets its items go on."""
    p = node.parameters
    if p.get("resume") == "specificTime":
        raw = to_string(resolve_param(node, "dateTime", view, items, 0))
        try:
            at = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError as err:
            raise NodeFailed(f"node {node.name!r}: dateTime {raw!r} is not an ISO date and time") from err
        return at if at.tzinfo else at.replace(tzinfo=UTC)
    amount = to_number(resolve_param(node, "amount", view, items, 0, 1))
    unit = str(resolve_param(node, "unit", view, items, 0, "hours"))
    if unit not in _UNITS or not isinstance(amount, int | float) or amount != amount or amount < 0:
        raise NodeFailed(f"node {node.name!r}: cannot wait {amount} {unit}")
    delay = timedelta(seconds=float(amount) * _UNITS[unit])
    if delay > MAX_WAIT:
        raise NodeFailed(f"node {node.name!r}: waits longer than {MAX_WAIT.days} days are not supported")
    return now + delay


def respond(node: Node, items: list[Item], view: RunView) -> dict[str, Any]:
    """The HTTP response a Respond to Webhook node gives: status, headers, body (what the webhook caller gets)."""
    p = node.parameters
    mode = str(p.get("respondWith", "firstIncomingItem"))
    status = option(resolve_param(node, "options", view, items, 0, {}), "responseCode", default=200)
    headers: dict[str, str] = {}
    for h in option(resolve_param(node, "options", view, items, 0, {}), "responseHeaders", "entries", default=[]) or []:
        if isinstance(h, dict):
            headers[to_string(h.get("name", ""))] = to_string(h.get("value", ""))
    body: Any = None
    if mode == "json":
        raw = resolve_param(node, "responseBody", view, items, 0, "")
        body = from_json(raw) if isinstance(raw, str) and raw.strip() else raw
    elif mode == "text":
        body = to_string(resolve_param(node, "responseBody", view, items, 0, ""))
    elif mode == "firstIncomingItem":
        body = items[0].json if items else {}
    elif mode == "allIncomingItems":
        body = [i.json for i in items]
    elif mode == "redirect":
        status, headers["Location"] = 307, to_string(resolve_param(node, "redirectURL", view, items, 0, ""))
    elif mode == "binary":
        body = {"note": "binary responses are not supported by Hive; the incoming item is given instead",
                "json": items[0].json if items else {}}
    return {"node": node.name, "status": status if isinstance(status, int) else 200, "headers": headers, "body": body}
