"""Matching items of two inputs on field values (n8n's Merge findMatches and fuzzyCompare), pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.workflows import lodash
from core.workflows.errors import ExpressionError
from core.workflows.expr_values import UNDEFINED, from_json, num_to_string, typeof
from core.workflows.items import Item


@dataclass
class Matches:
    # Each input 1 item with the input 2 items it matched (one pair per match where n8n splits them).
    matched: list[tuple[Item, list[Item]]] = field(default_factory=list)
    matched2: list[Item] = field(default_factory=list)
    unmatched1: list[Item] = field(default_factory=list)
    unmatched2: list[Item] = field(default_factory=list)


def _field(item: Item, name: str, dots: bool) -> Any:
    if dots:
        return lodash.get(item.json, name)
    return item.json.get(name, UNDEFINED)


def find_matches(input1: list[Item], input2: list[Item], pairs: list[tuple[str, str]], options: dict[str, Any],
                 split: bool) -> Matches:
    """`split`: every match its own pair (output 'both' or an enrich join), else each item with all its matches."""
    equal = fuzzy_equal if options.get("fuzzyCompare") is True else lodash.is_equal
    dots = options.get("disableDotNotation") is not True
    first_only = (options.get("multipleMatches") or "all") != "all"
    out = Matches()
    used: set[int] = set()
    for entry in input1:
        # Keyed by the input 2 field, as n8n's lookup object is: a later pair on the same field replaces one.
        lookup = {f2: _field(entry, f1, dots) for f1, f2 in pairs}
        if any(v is UNDEFINED for v in lookup.values()):
            out.unmatched1.append(entry)
            continue
        found: list[int] = []
        for j, other in enumerate(input2):
            if all(equal(want, _field(other, key, dots)) for key, want in lookup.items()):
                found.append(j)
                if first_only:
                    break
        used.update(found)
        if not found:
            out.unmatched1.append(entry)
        elif split:
            out.matched += [(entry, [input2[j]]) for j in found]
        else:
            out.matched.append((entry, [input2[j] for j in found]))
    for j, other in enumerate(input2):
        (out.matched2 if j in used else out.unmatched2).append(other)
    return out


def _falsy(v: Any) -> bool:
    return v is None or v == "" or (isinstance(v, list) and not v)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _parsed_equals(text: str, value: Any) -> bool:
    try:
        return lodash.is_equal(from_json(text), value)
    except ExpressionError:
        return False


def fuzzy_equal(a: Any, b: Any) -> bool:
    """n8n's fuzzyCompare (version 1): same types compare deeply; else numbers and their text, objects and their
    JSON, booleans and "true"/"false"/1/0, and null/""/[]/missing are all alike."""
    if a is not None and b is not None and typeof(a) == typeof(b):
        return lodash.is_equal(a, b)
    if _falsy(a) and _falsy(b):
        return True
    if (_falsy(a) and b is UNDEFINED) or (a is UNDEFINED and _falsy(b)):
        return True
    if _is_number(a) and isinstance(b, str):
        return num_to_string(a) == b
    if isinstance(a, str) and _is_number(b):
        return a == num_to_string(b)
    if isinstance(a, dict | list) and isinstance(b, str):
        return _parsed_equals(b, a)
    if isinstance(a, str) and isinstance(b, dict | list):
        return _parsed_equals(a, b)
    for x, y in ((a, b), (b, a)):
        if isinstance(x, bool) and isinstance(y, str) and y.lower() in (("true", "1") if x else ("false", "0")):
            return True
        if isinstance(x, bool) and _is_number(y) and y == (1 if x else 0):
            return True
    return lodash.is_equal(a, b)
