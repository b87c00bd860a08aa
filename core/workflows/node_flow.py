"""Routing built-ins: If (v1, v2.x), Switch (v3 rules and expression mode), NoOp; pure functions of the items."""

from __future__ import annotations

from typing import Any

from core.workflows.conditions import filter_passes, v1_passes
from core.workflows.context import RunView
from core.workflows.errors import NodeFailed
from core.workflows.expr_values import to_number
from core.workflows.items import Item, Outputs, derive
from core.workflows.model import Node
from core.workflows.node_params import option, resolve_param


def _route(node: Node, item: Item, index: int, outputs: Outputs, o: int) -> None:
    outputs[o].append(derive(item, item.json, node.name, o, len(outputs[o])))


def _loose(node: Node, view: RunView, items: list[Item], i: int) -> bool:
    if node.parameters.get("looseTypeValidation") is True:
        return True
    return option(node.parameters, "options", "looseTypeValidation", default=False) is True


def run_if(node: Node, items: list[Item], view: RunView) -> Outputs:
    outputs: Outputs = [[], []]
    for i, item in enumerate(items):
        try:
            if node.type_version < 2:
                passed = v1_passes(resolve_param(node, "conditions", view, items, i, {}),
                                   node.parameters.get("combineOperation", "all"))
            else:
                passed = filter_passes(resolve_param(node, "conditions", view, items, i, {}),
                                       loose_override=_loose(node, view, items, i))
        except NodeFailed as err:
            raise NodeFailed(str(err), i) from err
        _route(node, item, i, outputs, 0 if passed else 1)
    return outputs


def switch_output_count(node: Node) -> int:
    p = node.parameters
    if p.get("mode") == "expression":
        n = p.get("numberOutputs", 4)
        return n if isinstance(n, int) and 1 <= n <= 64 else 4
    rules = option(p, "rules", "values", default=[]) or []
    fallback = option(p, "options", "fallbackOutput", default="none")
    return len(rules) + (1 if fallback == "extra" else 0)


def run_switch(node: Node, items: list[Item], view: RunView) -> Outputs:
    count = switch_output_count(node)
    outputs: Outputs = [[] for _ in range(count)]
    p = node.parameters
    for i, item in enumerate(items):
        try:
            if p.get("mode") == "expression":
                target = to_number(resolve_param(node, "output", view, items, i))
                if not isinstance(target, int) or not 0 <= target < count:
                    raise NodeFailed(f"the output index {target} is not between 0 and {count - 1}", i)
                _route(node, item, i, outputs, target)
                continue
            for o in _matching_rules(node, view, items, i):
                _route(node, item, i, outputs, o)
        except NodeFailed as err:
            raise NodeFailed(str(err), i) from err
    return outputs


def _matching_rules(node: Node, view: RunView, items: list[Item], i: int) -> list[int]:
    p = node.parameters
    rules = option(resolve_param(node, "rules", view, items, i, {}), "values", default=[]) or []
    options = resolve_param(node, "options", view, items, i, {}) or {}
    every = options.get("allMatchingOutputs") is True
    loose = options.get("looseTypeValidation") is True or p.get("looseTypeValidation") is True
    ignore_case = options.get("ignoreCase") is True
    matched = []
    for o, rule in enumerate(rules):
        conditions = rule.get("conditions", {}) if isinstance(rule, dict) else {}
        if ignore_case and isinstance(conditions, dict):
            conditions = {**conditions, "options": {**(conditions.get("options") or {}), "caseSensitive": False}}
        if filter_passes(conditions, loose_override=loose):
            matched.append(o)
            if not every:
                break
    if matched:
        return matched
    fallback = options.get("fallbackOutput", "none")
    if fallback == "extra":
        return [len(rules)]
    if isinstance(fallback, int) and not isinstance(fallback, bool) and 0 <= fallback < len(rules):
        return [fallback]
    return []


def run_noop(node: Node, items: list[Item], view: RunView) -> Outputs:
    return [[derive(item, item.json, node.name, 0, i) for i, item in enumerate(items)]]


def output_names(node: Node) -> list[str] | None:
    """A switch's renamed outputs (`outputKey`), for display; None when it has none."""
    rules = option(node.parameters, "rules", "values", default=[]) or []
    names: list[Any] = [r.get("outputKey") if isinstance(r, dict) and r.get("renameOutput") else None for r in rules]
    return [str(n) if n is not None else str(i) for i, n in enumerate(names)] if any(names) else None
