"""What a node's run produced: outputs, or an error; and the error handling n8n nodes declare."""

from __future__ import annotations

from typing import Any

import msgspec

from core.workflows.items import Item, Outputs, derive
from core.workflows.model import Node


class NodeOutcome(msgspec.Struct, frozen=True, kw_only=True):
    outputs: Outputs = []
    error: str | None = None
    # A Respond to Webhook node's response.
    response: dict[str, Any] | None = None


def continues(node: Node) -> str | None:
    """"regular" (errors become items on output 0), "error_output" (on an extra output), or None (the node fails)."""
    if node.on_error == "continueErrorOutput":
        return "error_output"
    if node.on_error == "continueRegularOutput" or (node.continue_on_fail and node.on_error is None):
        return "regular"
    return None


def error_item(node: Node, source: Item, output: int, index: int, data: dict[str, Any]) -> Item:
    return derive(source, data, node.name, output, index)


def failed_items_outcome(node: Node, items: list[Item], message: str, regular_outputs: int) -> NodeOutcome:
    """A built-in that failed, on a node that continues: every input item becomes an error item."""
    mode = continues(node)
    if mode is None:
        return NodeOutcome(error=message)
    if mode == "regular":
        return NodeOutcome(outputs=[[error_item(node, it, 0, i, {"error": message}) for i, it in enumerate(items)]])
    outputs: Outputs = [[] for _ in range(regular_outputs)]
    outputs.append([error_item(node, it, regular_outputs, i, {**it.json, "error": message})
                    for i, it in enumerate(items)])
    return NodeOutcome(outputs=outputs)
