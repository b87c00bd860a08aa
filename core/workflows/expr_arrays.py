"""Array methods with JavaScript's semantics: callbacks get (element, index, array), holes are skipped where
JavaScript skips them, sort/reverse/push/splice/fill change the array in place."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

from core.workflows import expr_budget
from core.workflows.errors import ExpressionError
from core.workflows.expr_args import arg, call, cap, integer, relative, slice_bounds
from core.workflows.expr_values import HOLE, UNDEFINED, Fn, nullish, strict_equal, to_number, to_string, truthy

Method = Callable[[list[Any], list[Any]], Any]


def _live(items: list[Any]) -> list[tuple[int, Any]]:
    """(index, element) for each element present, holes left out (map, filter, forEach, reduce ... skip them)."""
    expr_budget.charge(len(items))
    return [(i, x) for i, x in enumerate(items) if x is not HOLE]


def _read(x: Any) -> Any:
    return UNDEFINED if x is HOLE else x


def _same_value_zero(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return strict_equal(a, b)


def _join(items: list[Any], args: list[Any]) -> str:
    sep = to_string(arg(args, 0)) if arg(args, 0) is not UNDEFINED else ","
    expr_budget.charge(len(items))
    return cap(sep.join("" if nullish(x) or x is HOLE else to_string(x) for x in items))


def _includes(items: list[Any], args: list[Any]) -> bool:
    value, start = arg(args, 0), relative(arg(args, 1), len(items), 0)
    return any(_same_value_zero(_read(x), value) for x in items[start:])


def _index_of(items: list[Any], args: list[Any]) -> int:
    value, start = arg(args, 0), relative(arg(args, 1), len(items), 0)
    return next((i for i in range(start, len(items)) if items[i] is not HOLE and strict_equal(items[i], value)), -1)


def _last_index_of(items: list[Any], args: list[Any]) -> int:
    value, n = arg(args, 0), len(items)
    start = n - 1 if len(args) < 2 else (integer(args[1]) if integer(args[1]) >= 0 else n + integer(args[1]))
    start = min(start, n - 1)
    return next((i for i in range(start, -1, -1) if items[i] is not HOLE and strict_equal(items[i], value)), -1)


def _slice(items: list[Any], args: list[Any]) -> list[Any]:
    start, end = slice_bounds(len(items), args)
    expr_budget.charge(max(end - start, 0))
    return items[start:end]


def _concat(items: list[Any], args: list[Any]) -> list[Any]:
    out = list(items)
    for x in args:
        if isinstance(x, list):
            out.extend(x)
        else:
            out.append(x)
    expr_budget.charge(len(out))
    return out


def _at(items: list[Any], args: list[Any]) -> Any:
    i = integer(arg(args, 0))
    i = len(items) + i if i < 0 else i
    return _read(items[i]) if 0 <= i < len(items) else UNDEFINED


def _map(items: list[Any], args: list[Any]) -> list[Any]:
    fn, out = arg(args, 0), [HOLE] * len(items)
    for i, x in _live(items):
        out[i] = call(fn, x, i, items)
    return out


def _filter(items: list[Any], args: list[Any]) -> list[Any]:
    fn = arg(args, 0)
    return [x for i, x in _live(items) if truthy(call(fn, x, i, items))]


def _for_each(items: list[Any], args: list[Any]) -> Any:
    fn = arg(args, 0)
    for i, x in _live(items):
        call(fn, x, i, items)
    return UNDEFINED


def _some(items: list[Any], args: list[Any]) -> bool:
    fn = arg(args, 0)
    return any(truthy(call(fn, x, i, items)) for i, x in _live(items))


def _every(items: list[Any], args: list[Any]) -> bool:
    fn = arg(args, 0)
    return all(truthy(call(fn, x, i, items)) for i, x in _live(items))


def _finder(backwards: bool, want_index: bool) -> Method:
    def find(items: list[Any], args: list[Any]) -> Any:
        fn = arg(args, 0)
        order = range(len(items) - 1, -1, -1) if backwards else range(len(items))
        for i in order:  # find and findIndex visit holes too, as undefined
            if i < len(items) and truthy(call(fn, _read(items[i]), i, items)):
                return i if want_index else _read(items[i])
        return -1 if want_index else UNDEFINED
    return find


def _reducer(backwards: bool) -> Method:
    def reduce(items: list[Any], args: list[Any]) -> Any:
        fn, present = arg(args, 0), _live(items)
        if backwards:
            present.reverse()
        if len(args) >= 2:
            acc = args[1]
        elif present:
            acc = present.pop(0)[1]
        else:
            raise ExpressionError("Reduce of empty array with no initial value")
        for i, x in present:
            acc = call(fn, acc, x, i, items)
        return acc
    return reduce


def _flatten(items: list[Any], depth: int, out: list[Any]) -> list[Any]:
    for x in items:
        if x is HOLE:
            continue
        if isinstance(x, list) and depth > 0:
            _flatten(x, depth - 1, out)
        else:
            out.append(x)
    expr_budget.charge(len(items))
    return out


def _flat(items: list[Any], args: list[Any]) -> list[Any]:
    return _flatten(items, min(integer(arg(args, 0), 1), 100), [])


def _flat_map(items: list[Any], args: list[Any]) -> list[Any]:
    fn = arg(args, 0)
    return _flatten([call(fn, x, i, items) for i, x in _live(items)], 1, [])


def _compare_with(fn: Any) -> Callable[[Any, Any], int]:
    def compare(a: Any, b: Any) -> int:
        x = to_number(call(fn, a, b))
        return 0 if isinstance(x, float) and math.isnan(x) else (x > 0) - (x < 0)
    return compare


def _utf16(x: Any) -> bytes:
    # JavaScript's default sort compares UTF-16 code units, not code points.
    return to_string(x).encode("utf-16-be", "surrogatepass")


def sorted_copy(items: list[Any], comparator: Any) -> list[Any]:
    """The elements in sort order: undefined after the rest, holes last; stable, as JavaScript's sort is."""
    if comparator is not UNDEFINED and not isinstance(comparator, Fn):
        raise ExpressionError("the comparison function must be either a function or undefined")
    values = [x for x in items if x is not HOLE and x is not UNDEFINED]
    expr_budget.charge(len(items))
    if comparator is UNDEFINED:
        values.sort(key=_utf16)
    else:
        values.sort(key=functools.cmp_to_key(_compare_with(comparator)))
    undefined = sum(1 for x in items if x is UNDEFINED)
    return values + [UNDEFINED] * undefined + [HOLE] * (len(items) - len(values) - undefined)


def _sort(items: list[Any], args: list[Any]) -> list[Any]:
    items[:] = sorted_copy(items, arg(args, 0))
    return items


def _reverse(items: list[Any], args: list[Any]) -> list[Any]:
    items.reverse()
    return items


def _push(items: list[Any], args: list[Any]) -> int:
    expr_budget.charge(len(args))
    items.extend(args)
    return len(items)


def _unshift(items: list[Any], args: list[Any]) -> int:
    expr_budget.charge(len(items) + len(args))
    items[0:0] = args
    return len(items)


def _splice(items: list[Any], args: list[Any]) -> list[Any]:
    n = len(items)
    start = relative(arg(args, 0), n, 0)
    if not args:
        count = 0
    elif len(args) == 1:
        count = n - start
    else:
        count = max(0, min(integer(args[1]), n - start))
    removed = items[start:start + count]
    expr_budget.charge(n + len(args))
    items[start:start + count] = args[2:]
    return removed


def _fill(items: list[Any], args: list[Any]) -> list[Any]:
    start, end = relative(arg(args, 1), len(items), 0), relative(arg(args, 2), len(items), len(items))
    expr_budget.charge(max(end - start, 0))
    items[start:end] = [arg(args, 0)] * max(end - start, 0)
    return items


def _first(items: list[Any], args: list[Any]) -> Any:
    return _read(items[0]) if items else UNDEFINED


def _last(items: list[Any], args: list[Any]) -> Any:
    return _read(items[-1]) if items else UNDEFINED


_METHODS: dict[str, Method] = {
    "join": _join, "toString": lambda items, a: _join(items, []), "includes": _includes, "indexOf": _index_of,
    "lastIndexOf": _last_index_of, "slice": _slice, "concat": _concat, "at": _at,
    "map": _map, "filter": _filter, "forEach": _for_each, "some": _some, "every": _every,
    "find": _finder(False, False), "findIndex": _finder(False, True),
    "findLast": _finder(True, False), "findLastIndex": _finder(True, True),
    "reduce": _reducer(False), "reduceRight": _reducer(True), "flat": _flat, "flatMap": _flat_map,
    "sort": _sort, "toSorted": lambda items, a: sorted_copy(items, arg(a, 0)),
    "reverse": _reverse, "toReversed": lambda items, a: [_read(x) for x in reversed(items)],
    "push": _push, "pop": lambda items, a: _read(items.pop()) if items else UNDEFINED,
    "shift": lambda items, a: _read(items.pop(0)) if items else UNDEFINED, "unshift": _unshift,
    "splice": _splice, "fill": _fill,
    "keys": lambda items, a: list(range(len(items))),
    "values": lambda items, a: [_read(x) for x in items],
    "entries": lambda items, a: [[i, _read(x)] for i, x in enumerate(items)],
    "first": _first, "last": _last,  # n8n's own additions
}

# Methods that change the array they are called on; an expression using one gets copies of the workflow's data.
MUTATORS = frozenset({"sort", "reverse", "push", "pop", "shift", "unshift", "splice", "fill", "copyWithin"})


def array_member(items: list[Any], key: str) -> Any:
    if key == "length":
        return len(items)
    impl = _METHODS.get(key)
    if impl is None:
        return UNDEFINED
    return Fn(key, lambda args: impl(items, args))
