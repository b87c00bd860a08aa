"""Merge v1's key modes (n8n's MergeV1 keepKeyMatches, mergeByKey, removeKeyMatches): JavaScript object keys."""

from __future__ import annotations

import copy
from typing import Any

from core.workflows import lodash
from core.workflows.context import RunView
from core.workflows.expr_values import UNDEFINED, num_to_string, to_string, truthy
from core.workflows.items import Item
from core.workflows.model import Node
from core.workflows.node_params import resolve_param


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _overwrites(rule: str, target: dict[str, Any], key: str) -> bool:
    if rule == "always":
        return True
    if rule == "undefined":
        return key not in target
    if rule == "blank":
        return target.get(key) in (None, "")
    return False


def run_key_mode(node: Node, mode: str, input1: list[Item], input2: list[Item], view: RunView) -> list[Item]:
    """Input 1's items that have (or, for removeKeyMatches, lack) an input 2 item with the same key; mergeByKey
    copies that item's fields in (not its key field) per `overwrite`, and keeps input 1's unmatched items."""
    name1 = resolve_param(node, "propertyName1", view, input1, 0, "")
    name2 = resolve_param(node, "propertyName2", view, input1, 0, "")
    rule = to_string(resolve_param(node, "overwrite", view, input1, 0, "always"))
    if not truthy(name1) or not truthy(name2):
        return [] if mode == "keepKeyMatches" else list(input1)
    path1, path2 = to_string(name1), to_string(name2)
    by_key: dict[str, Item] = {}
    for other in input2:
        key = lodash.get(other.json, path2)
        if truthy(key):
            by_key[to_string(key)] = other  # a JavaScript object's key is its String(); the last item wins
    out: list[Item] = []
    for entry in input1:
        ref = lodash.get(entry.json, path1)
        comparable = ref is None or isinstance(ref, str) or _is_number(ref)
        if ref is UNDEFINED or not comparable:
            if mode == "removeKeyMatches":
                out.append(entry)
            continue
        key = num_to_string(ref) if _is_number(ref) else to_string(ref)
        match = by_key.get(key)
        if match is None:
            if mode != "keepKeyMatches":
                out.append(entry)
            continue
        if mode == "keepKeyMatches":
            out.append(entry)
        elif mode == "mergeByKey":
            merged = copy.deepcopy(entry.json)
            for k, v in match.json.items():
                if k != path2 and _overwrites(rule, merged, k):
                    merged[k] = copy.deepcopy(v)
            out.append(Item(json=merged, binary=entry.binary, paired=entry.paired))
    return out
