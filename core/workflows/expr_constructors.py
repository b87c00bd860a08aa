"""Constructors: `Array(n)` / `Array.from` / `Array.of`, `RegExp`, and what `new X(...)` may build."""

from __future__ import annotations

from typing import Any

from core.workflows import expr_budget
from core.workflows.errors import ExpressionError
from core.workflows.expr_access import MAX_GROWTH, iterate
from core.workflows.expr_args import arg, call, integer
from core.workflows.expr_collections import new_map, new_set
from core.workflows.expr_dates import new_date
from core.workflows.expr_regexp import new_regexp
from core.workflows.expr_values import HOLE, UNDEFINED, Fn, JsObject, to_string


def _array(args: list[Any]) -> list[Any]:
    """`Array(3)` is three holes (map and forEach skip them); `Array(1, 2)` and `Array('3')` hold their arguments."""
    if len(args) == 1 and isinstance(args[0], int | float) and not isinstance(args[0], bool):
        n = args[0]
        if n < 0 or n != int(n) or n >= 2**32:
            raise ExpressionError(f"invalid array length {to_string(n)}")
        if n > MAX_GROWTH:
            raise ExpressionError(f"Array({to_string(n)}) is longer than Hive allows ({MAX_GROWTH} elements)")
        expr_budget.charge(int(n))
        return [HOLE] * int(n)
    return list(args)


def _array_from(args: list[Any]) -> list[Any]:
    source, fn = arg(args, 0), arg(args, 1)
    if fn is not UNDEFINED and not isinstance(fn, Fn):
        raise ExpressionError("Array.from: the second argument must be a function")
    if isinstance(source, list | str) or (isinstance(source, JsObject) and hasattr(source, "elements")):
        items = iterate(source)
    elif isinstance(source, dict):
        # An array-like: `Array.from({length: 3}, (_, i) => i)`.
        length = integer(source.get("length", 0))
        if length > MAX_GROWTH:
            raise ExpressionError(f"Array.from: length {length} is longer than Hive allows ({MAX_GROWTH})")
        expr_budget.charge(max(length, 0))
        items = [source.get(str(i), UNDEFINED) for i in range(max(length, 0))]
    elif source is UNDEFINED or source is None:
        raise ExpressionError(f"{to_string(source)} is not iterable (Array.from needs an array, a string or "
                              "an object with a length)")
    else:
        items = []
    if fn is UNDEFINED:
        return items
    return [call(fn, x, i) for i, x in enumerate(items)]


ARRAY = Fn("Array", _array, {
    "isArray": Fn("isArray", lambda a: isinstance(arg(a, 0), list)),
    "from": Fn("from", _array_from),
    "of": Fn("of", lambda a: list(a)),
})

REGEXP = Fn("RegExp", new_regexp)

GLOBALS: dict[str, Any] = {"Array": ARRAY, "RegExp": REGEXP}


def construct(name: str, args: list[Any], scope: Any) -> Any:
    """`new name(...args)` for the constructors expressions may use."""
    if name == "Date":
        return new_date(args, scope)
    if name == "RegExp":
        return new_regexp(args)
    if name == "Array":
        return _array(args)
    if name == "Set":
        return new_set(args)
    if name == "Map":
        return new_map(args)
    if name == "Object":
        return {}
    if name in ("String", "Number", "Boolean"):
        raise ExpressionError(f"`new {name}(...)` makes a wrapper object; call {name}(...) without `new`")
    raise ExpressionError(f"`new {name}` is not supported (Date, RegExp, Array, Set and Map are)")
