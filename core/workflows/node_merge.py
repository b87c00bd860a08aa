"""The Merge node (v1 to v3): append, combine by position / fields / all, choose branch; any number of inputs."""

from __future__ import annotations

import copy
from typing import Any

from core.workflows.context import RunView
from core.workflows.errors import NodeFailed
from core.workflows.expr_values import to_string
from core.workflows.items import Item, Outputs, merge_lineage
from core.workflows.model import Node
from core.workflows.node_params import option


def _mode(node: Node) -> tuple[str, str]:
    """(mode, how) normalised across versions: append | position | fields | all | choose | passthrough."""
    p = node.parameters
    mode = str(p.get("mode", "append"))
    if node.type_version < 2:
        return {"append": ("append", ""), "mergeByIndex": ("position", ""), "multiplex": ("all", ""),
                "passThrough": ("passthrough", str(p.get("output", "input1"))),
                "wait": ("choose", "empty"), "mergeByKey": ("fields", "")}.get(mode, (mode, ""))
    if mode == "mergeByPosition":  # written by hand into some v2.1 templates; n8n reads it as combine by position
        return "position", ""
    if mode == "combine":
        by = str(p.get("combineBy" if node.type_version >= 3 else "combinationMode",
                       "combineByFields" if node.type_version >= 3 else "mergeByFields"))
        return {"combineByPosition": "position", "mergeByPosition": "position", "combineByFields": "fields",
                "mergeByFields": "fields", "combineAll": "all", "multiplex": "all"}.get(by, by), ""
    if mode == "chooseBranch":
        if node.type_version >= 3:
            which = "empty" if p.get("output") == "empty" else f"input{p.get('useDataOfInput', 1)}"
        else:
            which = str(p.get("output", "input1"))
        return "choose", which
    return mode, ""


def _combine(items: list[Item], node: Node, prefer: str) -> Item:
    data: dict[str, Any] = {}
    ordered = items if prefer != "preferInput1" else list(reversed(items))
    for item in ordered:
        data.update(copy.deepcopy(item.json))
    binary = next((i.binary for i in items if i.binary), None)
    return Item(json=data, binary=binary, paired=merge_lineage(items))


def _stamp(node: Node, items: list[Item]) -> Outputs:
    out = []
    for i, item in enumerate(items):
        paired = dict(item.paired)
        paired[node.name] = [0, i]
        out.append(Item(json=item.json, binary=item.binary, paired=paired))
    return [out]


def run_merge(node: Node, inputs: list[list[Item]], view: RunView) -> Outputs:
    mode, how = _mode(node)
    prefer = str(option(node.parameters, "options", "clashHandling", "values", "resolveClash", default="preferLast"))
    if mode == "append":
        return _stamp(node, [item for items in inputs for item in items])
    if mode == "position":
        include_unpaired = option(node.parameters, "options", "includeUnpaired", default=False) is True
        length = max(map(len, inputs)) if include_unpaired else min(map(len, inputs))
        paired = [[items[i] for items in inputs if i < len(items)] for i in range(length)]
        return _stamp(node, [_combine(row, node, prefer) for row in paired])
    if mode == "all":
        rows: list[list[Item]] = [[]]
        for items in inputs:
            rows = [row + [item] for row in rows for item in items]
        return _stamp(node, [_combine(row, node, prefer) for row in rows if row])
    if mode == "fields":
        return _stamp(node, _by_fields(node, inputs, prefer))
    if mode in ("choose", "passthrough"):
        if how == "empty":
            return [[Item(json={}, paired={node.name: [0, 0]})]]
        index = int(how.removeprefix("input") or 1) - 1
        if not 0 <= index < len(inputs):
            raise NodeFailed(f"merge has no input {index + 1}")
        return _stamp(node, inputs[index])
    raise NodeFailed(f"merge mode {mode!r} is not supported by Hive")


def _by_fields(node: Node, inputs: list[list[Item]], prefer: str) -> list[Item]:
    p = node.parameters
    if len(inputs) != 2:
        raise NodeFailed("combining by fields takes exactly two inputs")
    pairs: list[tuple[str, str]] = []
    if p.get("advanced") is True or node.type_version < 3:
        for entry in option(p, "mergeByFields", "values", default=[]) or []:
            if isinstance(entry, dict):
                pairs.append((to_string(entry.get("field1", "")), to_string(entry.get("field2", ""))))
    else:
        pairs = [(f.strip(), f.strip()) for f in to_string(p.get("fieldsToMatchString", "")).split(",") if f.strip()]
    if not pairs:
        raise NodeFailed("no fields to match: set 'Fields to Match'")
    join = str(p.get("joinMode", "keepMatches"))
    left, right = inputs

    def key(item: Item, side: int) -> tuple[Any, ...] | None:
        # An item without one of the fields matches nothing (as in n8n), not every other such item.
        if any(pair[side] not in item.json for pair in pairs):
            return None
        return tuple(to_string(item.json[pair[side]]) for pair in pairs)

    if join not in ("keepMatches", "enrichInput1", "enrichInput2", "keepEverything"):
        raise NodeFailed(f"join mode {join!r} is not supported by Hive")
    keys_left = [key(item, 0) for item in left]
    keys_right = [key(item, 1) for item in right]
    out: list[Item] = []
    if join == "enrichInput2":
        for r, kr in zip(right, keys_right, strict=True):
            lefts = [x for x, kl in zip(left, keys_left, strict=True) if kl is not None and kl == kr]
            out += [_combine([x, r], node, prefer) for x in lefts] or [r]
        return out
    matched_right: set[int] = set()
    for x, kl in zip(left, keys_left, strict=True):
        rights = [j for j, kr in enumerate(keys_right) if kl is not None and kr == kl]
        matched_right.update(rights)
        out += [_combine([x, right[j]], node, prefer) for j in rights]
        if not rights and join in ("enrichInput1", "keepEverything"):
            out.append(x)
    if join == "keepEverything":
        out += [r for j, r in enumerate(right) if j not in matched_right]
    return out
