"""Merge v1 (n8n's MergeV1) and v2/v2.1 (MergeV2): two inputs, each version's modes and parameter defaults."""

from __future__ import annotations

from typing import Any

from core.workflows.context import RunView
from core.workflows.items import Item, merge_lineage
from core.workflows.merge_clash import clash_options, combiner, merged_binary, suffixed
from core.workflows.model import Node
from core.workflows.node_merge_fields import combine_by_fields
from core.workflows.node_merge_keys import run_key_mode
from core.workflows.node_params import option

V1_MODES = ("append", "keepKeyMatches", "mergeByIndex", "mergeByKey", "multiplex", "passThrough",
            "removeKeyMatches", "wait")
V2_MODES = ("append", "combine", "chooseBranch")
V2_COMBINATIONS = ("mergeByFields", "mergeByPosition", "multiplex")


def _two(inputs: list[list[Item]]) -> tuple[list[Item], list[Item]]:
    return (inputs[0] if inputs else []), (inputs[1] if len(inputs) > 1 else [])


def empty_item(sources: list[Item]) -> Item:
    """A single `{}` item paired with every item it waited for."""
    return Item(json={}, paired=merge_lineage(sources))


def run_v1(node: Node, inputs: list[list[Item]], view: RunView) -> list[Item]:
    p = node.parameters
    mode = str(p.get("mode", "append"))
    input1, input2 = _two(inputs)
    if mode == "append":
        return input1 + input2
    if mode == "mergeByIndex":
        return _by_index(str(p.get("join", "left")), input1, input2)
    if mode == "multiplex":
        return [Item(json={**a.json, **b.json}, paired=merge_lineage([a, b])) for a in input1 for b in input2]
    if mode in ("keepKeyMatches", "mergeByKey", "removeKeyMatches"):
        return run_key_mode(node, mode, input1, input2, view)
    if mode == "passThrough":
        return list(input1 if p.get("output", "input1") == "input1" else input2)
    if mode == "wait":
        return [empty_item(input1)]
    return []


def _by_index(join: str, input1: list[Item], input2: list[Item]) -> list[Item]:
    """mergeByIndex: input 2's fields copied over input 1's item by item (shallow); `join` says how many."""
    if not input1:
        return [] if join in ("inner", "left") else list(input2)
    if not input2:
        return list(input1) if join in ("left", "outer") else []
    count = {"inner": min, "outer": max}.get(join, lambda a, b: a)(len(input1), len(input2))
    out = []
    for i in range(count):
        if i >= len(input1):
            out.append(input2[i])
        elif i >= len(input2):
            out.append(input1[i])
        else:
            a, b = input1[i], input2[i]
            out.append(Item(json={**a.json, **b.json}, binary=merged_binary([a, b]), paired=merge_lineage([a, b])))
    return out


def run_v2(node: Node, inputs: list[list[Item]], view: RunView) -> list[Item]:
    p = node.parameters
    mode = str(p.get("mode", "append"))
    input1, input2 = _two(inputs)
    if mode == "append":
        return input1 + input2
    if mode == "chooseBranch":
        return _choose_v2(p, input1, input2)
    if mode != "combine":
        return []
    how = str(p.get("combinationMode", "mergeByFields"))
    if how == "mergeByFields":
        return combine_by_fields(node, inputs, view)
    clash = clash_options(p)
    if how == "multiplex":
        return cross(input1, input2, clash)
    if how == "mergeByPosition":
        if not input1 or not input2:
            return input1 + input2
        return _by_position(input1, input2, clash, option(p, "options", "includeUnpaired", default=False) is True)
    return []


def _choose_v2(p: dict[str, Any], input1: list[Item], input2: list[Item]) -> list[Item]:
    # requiredInputs [0, 1]: without data on both inputs n8n does not run the node, so nothing comes out.
    if not input1 or not input2 or p.get("chooseBranchMode", "waitForBoth") != "waitForBoth":
        return []
    output = p.get("output", "input1")
    if output == "input1":
        return list(input1)
    if output == "input2":
        return list(input2)
    return [empty_item(input1 + input2)] if output == "empty" else []


def _swapped(input1: list[Item], input2: list[Item], clash: dict[str, Any]) -> tuple[list[Item], list[Item]]:
    """preferInput1 swaps the inputs (so input 1's values are merged last); addSuffix renames every key."""
    a, b = (input2, input1) if clash.get("resolveClash") == "preferInput1" else (input1, input2)
    if clash.get("resolveClash") == "addSuffix":
        a, b = [suffixed(i, "1") for i in a], [suffixed(i, "2") for i in b]
    return a, b


def _pair(a: Item, b: Item, clash: dict[str, Any]) -> Item:
    return Item(json=combiner(clash)(a.json, b.json), binary=merged_binary([a, b]), paired=merge_lineage([a, b]))


def cross(input1: list[Item], input2: list[Item], clash: dict[str, Any]) -> list[Item]:
    """Every pairing (v2 multiplex, v3 combineAll), the outer loop over the input merged first."""
    a, b = _swapped(input1, input2, clash)
    return [_pair(x, y, clash) for x in a for y in b]


def _by_position(input1: list[Item], input2: list[Item], clash: dict[str, Any], unpaired: bool) -> list[Item]:
    a, b = _swapped(input1, input2, clash)
    count = max(len(a), len(b)) if unpaired else min(len(a), len(b))
    out = []
    for i in range(count):
        if i >= len(a):
            out.append(b[i])
        elif i >= len(b):
            out.append(a[i])
        else:
            out.append(_pair(a[i], b[i], clash))
    return out
