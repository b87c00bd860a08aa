"""Merge v2/v3 "combine by matching fields" (n8n's MergeV2 mergeByFields and v3 combineByFields), every join mode."""

from __future__ import annotations

from typing import Any

from core.workflows import lodash
from core.workflows.context import RunView
from core.workflows.errors import NodeFailed
from core.workflows.expr_values import UNDEFINED, to_string
from core.workflows.items import Item, merge_lineage
from core.workflows.merge_clash import clash_options, combiner, merged_binary, suffixed
from core.workflows.merge_match import Matches, find_matches
from core.workflows.model import Node
from core.workflows.node_params import option, resolve_param

JOIN_MODES = ("keepMatches", "keepNonMatches", "keepEverything", "enrichInput1", "enrichInput2")
_EMPTY_PAIR = [{"field1": "", "field2": ""}]


def match_pairs(node: Node, view: RunView, items: list[Item]) -> list[tuple[str, str]]:
    """The fields to match, checked as n8n's checkMatchFieldsInput does (an empty pair is an error)."""
    p = node.parameters
    if node.type_version >= 3 and p.get("advanced") is not True:
        text = to_string(resolve_param(node, "fieldsToMatchString", view, items, 0, ""))
        entries: Any = [{"field1": f.strip(), "field2": f.strip()} for f in text.split(",")]
    else:
        # A missing collection is n8n's default of one empty pair; a collection without values is no pair.
        entries = option(resolve_param(node, "mergeByFields", view, items, 0, {"values": _EMPTY_PAIR}), "values",
                         default=[])
    entries = [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []
    pairs = [(to_string(e.get("field1", "")), to_string(e.get("field2", ""))) for e in entries]
    if len(pairs) == 1 and pairs[0] == ("", ""):
        raise NodeFailed('You need to define at least one pair of fields in "Fields to Match" to match on')
    for k, (f1, f2) in enumerate(pairs):
        if f1 == "" or f2 == "":
            raise NodeFailed(f"You need to define both fields in \"Fields to Match\" for pair {k + 1}, "
                             f"field 1 = '{f1}' field 2 = '{f2}'")
    return pairs


def _present(items: list[Item], fields: list[str], dots: bool, label: str) -> None:
    """v2.0's checkInput: each field must be in some item of the input (2.1 and later dropped this check)."""
    for name in fields:
        if not any((lodash.get(i.json, name) is not UNDEFINED) if dots else name in i.json for i in items):
            raise NodeFailed(f"Field '{name}' is not present in any of items in '{label}'")


def combine_by_fields(node: Node, inputs: list[list[Item]], view: RunView) -> list[Item]:
    p = node.parameters
    input1 = inputs[0] if inputs else []
    input2 = inputs[1] if len(inputs) > 1 else []
    pairs = match_pairs(node, view, input1)
    join = str(p.get("joinMode", "keepMatches"))
    # outputDataFrom is shown only for these two joins; hidden, n8n reads its fallback.
    source = str(p.get("outputDataFrom", "both")) if join in ("keepMatches", "keepNonMatches") else "both"
    options = p["options"] if isinstance(p.get("options"), dict) else {}
    if node.type_version < 2.1:
        dots = options.get("disableDotNotation") is not True
        _present(input1, [f1 for f1, _ in pairs], dots, "Input 1")
        _present(input2, [f2 for _, f2 in pairs], dots, "Input 2")
    if not input1 or not input2:
        return _one_side_empty(join, source, input1, input2)
    if not pairs:
        return [] if join in ("keepMatches", "keepEverything", "enrichInput2") else input1
    split = source == "both" or join in ("enrichInput1", "enrichInput2")
    matches = find_matches(input1, input2, pairs, options, split)
    clash = clash_options(p)
    suffix = clash.get("resolveClash") == "addSuffix"
    if join in ("keepMatches", "keepEverything"):
        out = _keep(matches, source, clash, node.type_version)
        if join == "keepEverything":
            out += _maybe_suffixed(matches.unmatched1, "1", suffix) + _maybe_suffixed(matches.unmatched2, "2", suffix)
        return out
    if join == "keepNonMatches":
        if source == "input1":
            return matches.unmatched1
        if source == "input2":
            return matches.unmatched2
        if source == "both":
            return _sourced(matches.unmatched1, "input1") + _sourced(matches.unmatched2, "input2")
        return []
    if join == "enrichInput1":
        return merge_matched(matches, clash, node.type_version, join) + _maybe_suffixed(matches.unmatched1, "1", suffix)
    if join == "enrichInput2":
        return merge_matched(matches, clash, node.type_version, join) + _maybe_suffixed(matches.unmatched2, "2", suffix)
    return []


def _one_side_empty(join: str, source: str, input1: list[Item], input2: list[Item]) -> list[Item]:
    if not input1 and join == "keepNonMatches" and source == "input1":
        return []
    if not input2 and join == "keepNonMatches" and source == "input2":
        return []
    if join == "keepMatches" or (join == "enrichInput1" and not input1) or (join == "enrichInput2" and not input2):
        return []
    return input1 + input2


def _keep(matches: Matches, source: str, clash: dict[str, Any], version: float) -> list[Item]:
    if source == "input1":
        return [entry for entry, _ in matches.matched]
    if source == "input2":
        return list(matches.matched2)
    if source == "both":
        return merge_matched(matches, clash, version, None)
    return []


def _maybe_suffixed(items: list[Item], suffix: str, on: bool) -> list[Item]:
    return [suffixed(i, suffix) for i in items] if on else list(items)


def _sourced(items: list[Item], source: str) -> list[Item]:
    return [Item(json={**i.json, "_source": source}, binary=i.binary, paired=i.paired) for i in items]


def merge_matched(matches: Matches, clash: dict[str, Any], version: float, join: str | None) -> list[Item]:
    """n8n's mergeMatched: each input 1 item merged with its matches; the preferred side is merged last."""
    combine = combiner(clash)
    resolve = clash.get("resolveClash")
    if resolve is None:
        resolve = "preferInput1" if join == "enrichInput2" else ("preferLast" if version >= 3 else "preferInput2")
    last = "preferLast" if version >= 3 else "preferInput2"
    out = []
    for entry, found in matches.matched:
        if resolve == "addSuffix":
            order = [suffixed(entry, "1"), *(suffixed(m, "2") for m in found)]
            lineage = [entry, *found]
        elif resolve == "preferInput1":
            order = lineage = [*found, entry]
        elif resolve == last:
            order = lineage = [entry, *found]
        else:
            # Any other value reaches neither of n8n's branches: the item comes out empty, paired with nothing.
            out.append(Item(json={}))
            continue
        out.append(Item(json=combine(*(i.json for i in order)), binary=merged_binary(order),
                        paired=merge_lineage(lineage)))
    return out
