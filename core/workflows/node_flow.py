"""Routing built-ins: If (v1, v2.x) and NoOp (Switch is in node_switch); pure functions of the items."""

from __future__ import annotations

import copy
from typing import Any

from core.workflows.conditions import filter_passes
from core.workflows.conditions_v1 import v1_passes
from core.workflows.context import ItemScope, RunView
from core.workflows.errors import ExpressionError, NodeFailed
from core.workflows.expressions import plain_value, resolve
from core.workflows.items import Item, Outputs, derive
from core.workflows.model import Node
from core.workflows.node_params import option, resolve_param


def _route(node: Node, item: Item, index: int, outputs: Outputs, o: int) -> None:
    outputs[o].append(derive(item, item.json, node.name, o, len(outputs[o])))


def _loose(node: Node, view: RunView, items: list[Item], i: int) -> bool:
    """v2.1+ reads `looseTypeValidation` from the node, v2.0 from its options (n8n's getTypeValidationParameter)."""
    if node.type_version >= 2.1:
        return resolve_param(node, "looseTypeValidation", view, items, i, False) is True
    return option(resolve_param(node, "options", view, items, i, {}), "looseTypeValidation", default=False) is True


def _v1_conditions(node: Node, view: RunView, items: list[Item], i: int) -> Any:
    """One data type's conditions of If v1, resolved when the evaluation reaches them (as getNodeParameter
    resolves `conditions.<type>`)."""
    raw = node.parameters.get("conditions")

    def of(kind: str) -> Any:
        listed = raw.get(kind, []) if isinstance(raw, dict) else []
        try:
            return plain_value(resolve(copy.deepcopy(listed), ItemScope(view, node.name, items, i)))
        except ExpressionError as err:
            raise NodeFailed(str(err.at(node.name, f"parameters.conditions.{kind}")), i) from err

    return of


def run_if(node: Node, items: list[Item], view: RunView, continue_on_fail: bool = False) -> Outputs:
    """`continue_on_fail`: from v2 on, as n8n's If, an item whose conditions fail to evaluate goes to the false
    output unchanged and the others are routed; v1 fails as a whole."""
    outputs: Outputs = [[], []]
    for i, item in enumerate(items):
        try:
            if node.type_version < 2:
                combine = resolve_param(node, "combineOperation", view, items, i, "all")
                passed = v1_passes(_v1_conditions(node, view, items, i), combine)
            else:
                passed = filter_passes(resolve_param(node, "conditions", view, items, i, {}),
                                       loose_override=_loose(node, view, items, i), item_index=i)
        except (NodeFailed, ExpressionError) as err:
            if not continue_on_fail or node.type_version < 2:
                raise NodeFailed(str(err), i) from err
            passed = False
        _route(node, item, i, outputs, 0 if passed else 1)
    return outputs


def run_noop(node: Node, items: list[Item], view: RunView) -> Outputs:
    return [[derive(item, item.json, node.name, 0, i) for i, item in enumerate(items)]]
