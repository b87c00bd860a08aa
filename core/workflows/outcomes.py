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


class ItemErrors:
    """The items a built-in failed on, when it continues on failure (n8n's `continueOnFail()` inside Set, If
    and Switch): each becomes `{error: message}` where the node puts it, and the input item it came from is
    kept, for the error output."""

    def __init__(self, node: Node) -> None:
        self.node = node
        # id() of each error item -> the input item that failed (the error items live as long as this).
        self.sources: dict[int, Item] = {}

    def item(self, source: Item, output: int, index: int, message: str) -> Item:
        made = error_item(self.node, source, output, index, {"error": message})
        self.sources[id(made)] = source
        return made


def route_errors(node: Node, outputs: Outputs, errors: ItemErrors, regular: int) -> Outputs:
    """n8n's error output (`onError: continueErrorOutput`): the error items leave the regular outputs for an
    extra last one, each with its input item's fields and the error (the rest keep their places)."""
    kept: Outputs = []
    failed: list[Item] = []
    for o in range(regular):
        row: list[Item] = []
        for item in outputs[o] if o < len(outputs) else []:
            source = errors.sources.get(id(item))
            if source is None:
                row.append(_renumber(node, item, o, len(row)))
            else:
                failed.append(error_item(node, source, regular, len(failed), {**source.json, **item.json}))
        kept.append(row)
    return [*kept, failed]


def _renumber(node: Node, item: Item, output: int, index: int) -> Item:
    if item.paired.get(node.name) == [output, index]:
        return item
    return Item(json=item.json, binary=item.binary, paired={**item.paired, node.name: [output, index]})


def passed_through(node: Node, items: list[Item], regular: int, mode: str) -> NodeOutcome:
    """A built-in that failed as a whole, on a node that continues: n8n passes its first input's items on
    output 0 unchanged (they carry no error), whether the node continues on the regular or the error output."""
    outputs: Outputs = [[derive(it, it.json, node.name, 0, i) for i, it in enumerate(items)]]
    outputs += [[] for _ in range(regular - 1 + (1 if mode == "error_output" else 0))]
    return NodeOutcome(outputs=outputs)
