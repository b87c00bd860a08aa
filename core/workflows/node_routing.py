"""Routing items to a node's outputs, item by item, with n8n's continue-on-fail for the items that fail."""

from __future__ import annotations

from collections.abc import Callable

from core.workflows.errors import ExpressionError, NodeFailed
from core.workflows.items import Item, Outputs, derive
from core.workflows.model import Node
from core.workflows.outcomes import ItemErrors


def route_items(node: Node, items: list[Item], count: int, targets_of: Callable[[int], list[int]],
                errors: ItemErrors | None) -> Outputs:
    """Each item to the outputs `targets_of(its index)` names. One that fails fails the node, or, with `errors`
    (the node continues on failure), becomes `{error}` on output 0, as n8n's Switch does, and the rest go on."""
    outputs: Outputs = [[] for _ in range(count)]
    for i, item in enumerate(items):
        try:
            for o in targets_of(i):
                outputs[o].append(derive(item, item.json, node.name, o, len(outputs[o])))
        except (NodeFailed, ExpressionError) as err:
            if errors is None or not outputs:
                raise NodeFailed(str(err), i) from err
            outputs[0].append(errors.item(item, 0, len(outputs[0]), str(err)))
    return outputs
