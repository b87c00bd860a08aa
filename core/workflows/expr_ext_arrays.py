"""n8n's array extensions (`.sum()`, `.unique()`, `.pluck('id')`, `.chunk(5)` ...), after its ArrayExtensions."""

from __future__ import annotations

import math
import random
from typing import Any

from core.workflows import expr_budget
from core.workflows.errors import ExpressionError
from core.workflows.expr_args import arg, slice_bounds
from core.workflows.expr_ext_common import (
    Extension,
    bind,
    equality_key,
    has_key,
    is_object,
    to_json_string,
    undefined,
)
from core.workflows.expr_ext_objects import compact_object
from core.workflows.expr_values import (
    HOLE,
    UNDEFINED,
    JsObject,
    nullish,
    number,
    spread_object,
    to_string,
    truthy,
)


def _read(x: Any) -> Any:
    return UNDEFINED if x is HOLE else x


def _numbers(items: list[Any], name: str) -> list[int | float]:
    expr_budget.charge(len(items))
    if any(isinstance(x, bool) or not isinstance(x, int | float) for x in items):
        raise ExpressionError(f"{name}(): all array elements must be numbers")
    return items


def _sum(items: list[Any], args: list[Any]) -> Any:
    total: int | float = 0
    for x in _numbers(items, "sum"):
        total += x
    return number(total)


def _pick(name: str, pick: Any, empty: float) -> Extension:
    def run(items: list[Any], args: list[Any]) -> Any:
        values = _numbers(items, name)
        if any(isinstance(x, float) and math.isnan(x) for x in values):
            return math.nan
        return pick(values) if values else empty
    return run


def _average(items: list[Any], args: list[Any]) -> Any:
    values = _numbers(items, "average")
    if not values:
        return 0  # n8n: "This would usually be NaN but I don't think users will expect that"
    total: int | float = 0
    for x in values:
        total += x
    return number(total / len(values))


def _field(item: Any, key: str) -> Any:
    if isinstance(item, dict):
        return item.get(key, UNDEFINED)
    if isinstance(item, list):
        return _read(item[int(key)]) if key.isdigit() and int(key) < len(item) else UNDEFINED
    if isinstance(item, JsObject):
        return item.get(key)
    return UNDEFINED


def unique(items: list[Any], fields: list[Any]) -> list[Any]:
    """lodash uniqWith deep-equal: the first of each run of equal elements (objects compared on `fields`)."""
    names = [to_string(f) for f in fields]
    seen: set[Any] = set()
    out = []
    expr_budget.charge(len(items))
    for raw in items:
        x = _read(raw)
        probe = x
        if names and x is not None and is_object(x):
            probe = {name: _field(x, name) for name in names}
        key = equality_key(probe)
        if key not in seen:
            seen.add(key)
            out.append(x)
    return out


def _other(args: list[Any], name: str) -> list[Any]:
    others = arg(args, 0)
    if not isinstance(others, list):
        raise ExpressionError(f"{name}(): expected array arg, e.g. .{name}([1, 2, 3, 4])")
    return [_read(x) for x in others]


def _union(items: list[Any], args: list[Any]) -> list[Any]:
    return unique([_read(x) for x in items] + _other(args, "union"), [])


def _keys(items: list[Any]) -> set[Any]:
    return {equality_key(_read(x)) for x in items}


def _difference(items: list[Any], args: list[Any]) -> list[Any]:
    others = _keys(_other(args, "difference"))
    return unique([_read(x) for x in items if equality_key(_read(x)) not in others], [])


def _intersection(items: list[Any], args: list[Any]) -> list[Any]:
    others = _other(args, "intersection")
    theirs, ours = _keys(others), _keys(items)
    both = [_read(x) for x in items if equality_key(_read(x)) in theirs]
    return unique(both + [x for x in others if equality_key(x) in ours], [])


def _pluck(items: list[Any], args: list[Any]) -> list[Any]:
    if not args:
        return items
    expr_budget.charge(len(items))
    out = []
    for current in items:
        if not (current and isinstance(current, dict | list)):
            continue
        keys = current.keys() if isinstance(current, dict) else [str(i) for i in range(len(current))]
        found = [_field(current, k) for k in keys for field in args if field == k]
        if found:
            out.append(found[0] if len(found) == 1 else found)
    return out


def _random_item(items: list[Any], args: list[Any]) -> Any:
    # Random as in n8n. A node's output is recorded as an event, so a replay reads the pick, never redraws it.
    return _read(items[random.randrange(len(items))]) if items else UNDEFINED


def _compact(items: list[Any], args: list[Any]) -> list[Any]:
    expr_budget.charge(len(items))
    out = []
    for raw in items:
        x = _read(raw)
        if x is not None and is_object(x) and not spread_object(x):
            continue  # an object without keys (n8n's test: Object.keys(v).length === 0), host objects included
        if nullish(x) or x == "nil" or x == "":
            continue
        # n8n compacts nested arrays with its object compact, which makes them objects keyed by index.
        out.append(compact_object(x) if isinstance(x, dict | list) else x)
    return out


def _smart_join(items: list[Any], args: list[Any]) -> dict[str, Any]:
    key_field, value_field = arg(args, 0), arg(args, 1)
    if not (isinstance(key_field, str) and key_field and isinstance(value_field, str) and value_field):
        raise ExpressionError('smartJoin(): expected two string args, e.g. .smartJoin("name", "value")')
    expr_budget.charge(len(items))
    out: dict[str, Any] = {}
    for v in items:
        if isinstance(v, dict | list) and has_key(v, key_field) and has_key(v, value_field):
            out[to_string(_field(v, key_field))] = _field(v, value_field)
    return out


def chunk(items: list[Any], args: list[Any]) -> list[list[Any]]:
    size = arg(args, 0)
    if isinstance(size, bool) or not isinstance(size, int | float) or size == 0:
        raise ExpressionError("chunk(): expected non-zero numeric arg, e.g. .chunk(5)")
    if size < 0:
        raise ExpressionError("chunk(): a negative size never ends (n8n loops forever), use a positive one")
    out, i = [], 0.0
    while i < len(items):  # NaN never compares below, so chunk(NaN) is [] as in JavaScript
        expr_budget.step()
        start, end = slice_bounds(len(items), [i, i + size])
        expr_budget.charge(max(end - start, 0))
        out.append([_read(x) for x in items[start:end]])
        i += size
    return out


def _rename_keys(items: list[Any], args: list[Any]) -> list[Any]:
    if not args or len(args) % 2:
        raise ExpressionError('renameKeys(): expected an even amount of args: from1, to1 [, from2, to2, ...]. '
                              'e.g. .renameKeys("name", "title")')
    pairs = [(to_string(args[i]), to_string(args[i + 1])) for i in range(0, len(args), 2)]
    out: list[Any] = []
    for raw in items:
        v = _read(raw)
        if v is None or not is_object(v):
            out.append(v)
            continue
        renamed = spread_object(v)
        for old, new in pairs:
            if old in renamed:
                renamed[new] = renamed[old]
                del renamed[old]  # as n8n: renaming a key to itself removes it
        out.append(renamed)
    return out


def _merge_objects(value: Any, other: Any) -> Any:
    if not truthy(other):
        return value
    if not is_object(other):
        raise ExpressionError("merge(): expected object arg")
    merged = spread_object(value)
    for key, val in spread_object(other).items():
        merged.setdefault(key, val)
    return merged


def _merge(items: list[Any], args: list[Any]) -> Any:
    if arg(args, 0) is UNDEFINED:
        combined: Any = {}
        for x in items:
            if isinstance(x, dict | JsObject):
                combined = _merge_objects(combined, x)
        return combined
    others = arg(args, 0)
    if not isinstance(others, list):
        raise ExpressionError("merge(): expected array arg, e.g. .merge([{ id: 1, otherValue: 3 }])")
    merged: dict[str, Any] = {}
    for i in range(max(len(items), len(others))):
        mine = _read(items[i]) if i < len(items) else UNDEFINED
        theirs = _read(others[i]) if i < len(others) else UNDEFINED
        if mine is not UNDEFINED and is_object(mine) and is_object(theirs):
            merged.update(spread_object(_merge_objects(mine, theirs)))
    return merged


EXTENSIONS: dict[str, Extension] = {
    "removeDuplicates": lambda items, a: unique(items, a), "unique": lambda items, a: unique(items, a),
    "pluck": _pluck, "randomItem": _random_item, "sum": _sum,
    "min": _pick("min", min, math.inf), "max": _pick("max", max, -math.inf), "average": _average,
    "isNotEmpty": lambda items, a: len(items) > 0, "isEmpty": lambda items, a: len(items) == 0,
    "compact": _compact, "smartJoin": _smart_join, "chunk": chunk, "renameKeys": _rename_keys, "merge": _merge,
    "union": _union, "difference": _difference, "intersection": _intersection,
    "append": lambda items, a: [_read(x) for x in items] + list(a), "toJsonString": to_json_string,
    "toInt": undefined, "toFloat": undefined, "toBoolean": undefined, "toDateTime": undefined,
}


def array_extension(items: list[Any], key: str) -> Any:
    impl = EXTENSIONS.get(key)
    return UNDEFINED if impl is None else bind(key, impl, items)
