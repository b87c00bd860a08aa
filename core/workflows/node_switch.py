"""Switch: v3.x rules (filter conditions) and expression mode here, v1/v2 in node_switch_legacy; pure functions."""

from __future__ import annotations

from typing import Any

from core.workflows.conditions import filter_passes
from core.workflows.context import RunView
from core.workflows.errors import NodeFailed
from core.workflows.expr_values import to_number
from core.workflows.items import Item, Outputs
from core.workflows.model import Node
from core.workflows.node_params import option, resolve_param
from core.workflows.node_routing import route_items
from core.workflows.node_switch_legacy import legacy_output_count, run_legacy_switch
from core.workflows.outcomes import ItemErrors


def switch_output_count(node: Node) -> int:
    if node.type_version < 3:
        return legacy_output_count(node)
    p = node.parameters
    if p.get("mode") == "expression":
        n = p.get("numberOutputs", 4)
        return n if isinstance(n, int) and 1 <= n <= 64 else 4
    rules = option(p, "rules", "values", default=[]) or []
    fallback = option(p, "options", "fallbackOutput", default="none")
    return len(rules) + (1 if fallback == "extra" else 0)


def run_switch(node: Node, items: list[Item], view: RunView, errors: ItemErrors | None = None) -> Outputs:
    """`errors` given (the node continues on failure): as n8n's Switch (every version), an item that fails becomes
    `{error}` on output 0 and the others are routed."""
    if node.type_version < 3:
        return run_legacy_switch(node, items, view, errors)
    count = switch_output_count(node)

    def targets_of(i: int) -> list[int]:
        if node.parameters.get("mode") != "expression":
            return _matching_rules(node, view, items, i)
        target = to_number(resolve_param(node, "output", view, items, i))
        if not isinstance(target, int) or not 0 <= target < count:
            raise NodeFailed(f"the output index {target} is not between 0 and {count - 1}", i)
        return [target]

    return route_items(node, items, count, targets_of, errors)


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


def output_names(node: Node) -> list[str] | None:
    """A switch's output names where n8n shows names (v2's `outputKey`, v3's renamed outputs and fallback)."""
    p = node.parameters
    if p.get("mode") == "expression":
        return None
    if node.type_version < 3:
        rules = option(p, "rules", "rules", default=[]) or []
        keys: list[Any] = [r.get("outputKey") if isinstance(r, dict) else None for r in rules]
        return [str(k) if k else str(i) for i, k in enumerate(keys)] if node.type_version >= 2 and any(keys) else None
    rules = option(p, "rules", "values", default=[]) or []
    names: list[Any] = [r.get("outputKey") if isinstance(r, dict) and r.get("renameOutput") else None for r in rules]
    shown = [str(n) if n is not None else str(i) for i, n in enumerate(names)]
    if option(p, "options", "fallbackOutput") == "extra":
        renamed = option(p, "options", "renameFallbackOutput")
        shown.append(str(renamed) if renamed else "Fallback")
        return shown
    return shown if any(names) else None
