"""Triggers' items and Respond to Webhook (v1-v1.5): the response it records and the outputs it gives (the Wait
node is in node_wait)."""

from __future__ import annotations

from typing import Any

import msgspec

from core.workflows import lodash
from core.workflows.catalog import CHAT_TRIGGER, MANUAL_CHAT_TRIGGER, WEBHOOK
from core.workflows.context import RunView
from core.workflows.errors import ExpressionError, NodeFailed
from core.workflows.expr_values import from_json, to_string, truthy
from core.workflows.items import Item, Outputs, derive, from_plain, merge_lineage
from core.workflows.model import Node, Workflow
from core.workflows.node_params import option, resolve_param

# respondWith values Hive answers with; `binary` and `jwt` are refused at upload.
RESPOND_WITH = ("allIncomingItems", "firstIncomingItem", "json", "text", "noData", "redirect")
_DEFAULT_JSON_BODY = '{\n  "myField": "value"\n}'


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
        # n8n's Webhook item (every typeVersion): the request's parts, plus webhookUrl and executionMode.
        raw = [Item(json={"headers": {}, "params": {}, "query": {}, "body": given.body if given.body is not None else {},
                          "webhookUrl": "", "executionMode": "production"})]
    else:
        raw = [Item(json={})]
    return [derive(None, item.json, node.name, 0, i, item.binary) for i, item in enumerate(raw)]


def respond_output_count(node: Node) -> int:
    """v1.3 always adds a Response output; v1.4+ when `enableResponseOutput` is on."""
    v = node.type_version
    return 2 if v == 1.3 or (v >= 1.4 and node.parameters.get("enableResponseOutput") is True) else 1


def _headers(options: Any) -> dict[str, str]:
    headers: dict[str, str] = {}
    for h in option(options, "responseHeaders", "entries", default=[]) or []:
        if isinstance(h, dict) and h.get("value") is not None:
            headers[to_string(h.get("name")).lower()] = to_string(h["value"])
    return headers


def _keyed(options: Any, value: Any) -> Any:
    key = option(options, "responseKey", default="")
    if not truthy(key):
        return value
    out: dict[str, Any] = {}
    lodash.set_path(out, to_string(key), value)
    return out


def respond(node: Node, items: list[Item], view: RunView) -> dict[str, Any]:
    """The HTTP response a Respond to Webhook node gives (as n8n's RespondToWebhook.node.ts builds it from the
    first item): status, headers (names lowercased), body (None: no body)."""
    p = node.parameters
    mode = str(p.get("respondWith", "firstIncomingItem"))
    options = resolve_param(node, "options", view, items, 0, {})
    code = option(options, "responseCode")
    status: Any = code if truthy(code) else 200
    headers = _headers(options)
    body: Any = None
    if mode == "json":
        raw = resolve_param(node, "responseBody", view, items, 0, _DEFAULT_JSON_BODY)
        if truthy(raw):
            try:
                body = raw if isinstance(raw, dict | list) else from_json(raw)
            except ExpressionError as err:
                raise NodeFailed(f"Invalid JSON in 'Response Body' field: {err}") from err
    elif mode == "text":
        body = resolve_param(node, "responseBody", view, items, 0, "")
    elif mode == "firstIncomingItem":
        if not items:
            raise NodeFailed("Cannot read properties of undefined (reading 'json'): no item to respond with")
        body = _keyed(options, items[0].json)
    elif mode == "allIncomingItems":
        body = _keyed(options, [i.json for i in items])
    elif mode == "redirect":
        headers["location"] = to_string(resolve_param(node, "redirectURL", view, items, 0, ""))
        status = code if code is not None else 307
    elif mode != "noData":
        raise NodeFailed(f'The Response Data option "{mode}" is not supported!')
    return {"node": node.name, "status": status, "headers": headers, "body": body}


def respond_outputs(node: Node, items: list[Item], response: dict[str, Any]) -> Outputs:
    """Its input items on output 0; with a Response output, one item `{response: {body, headers, statusCode}}`."""
    passed = [derive(item, item.json, node.name, 0, i) for i, item in enumerate(items)]
    if respond_output_count(node) == 1:
        return [passed]
    sent = {"headers": response["headers"], "statusCode": response["status"]}
    if response["body"] is not None:
        sent = {"body": response["body"], **sent}
    return [passed, [Item(json={"response": sent}, paired={**merge_lineage(items[:1]), node.name: [1, 0]})]]


def respond_failed(node: Node, items: list[Item], message: str, error_output: bool) -> Outputs:
    """Continuing on failure, n8n's Respond to Webhook gives one `{error}` item paired with every input item; on
    the error output (continueErrorOutput) it carries the first input item's fields too."""
    regular = respond_output_count(node)
    if not error_output:
        failed = Item(json={"error": message}, paired={**merge_lineage(items), node.name: [0, 0]})
        return [[failed], *([[]] * (regular - 1))]
    first = items[0].json if items else {}
    routed = Item(json={**first, "error": message}, paired={**merge_lineage(items), node.name: [regular, 0]})
    return [*([[]] * regular), [routed]]
