"""n8n's convenience functions (`$ifEmpty`, `$max`, `$min`, `$not`, `$average`, `numberList`, `zip` ...),
after its extended-functions; `$if`, which n8n rewrites into `test ? a : b`, and `Date.now()`."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from core.workflows import expr_budget
from core.workflows.errors import ExpressionError
from core.workflows.expr_access import MAX_GROWTH
from core.workflows.expr_args import arg
from core.workflows.expr_builtins import MATH
from core.workflows.expr_dates import DateValue
from core.workflows.expr_ext_arrays import EXTENSIONS as ARRAY_EXTENSIONS
from core.workflows.expr_values import Fn, nullish, number, to_number, to_string, truthy


def _if_empty(args: list[Any]) -> Any:
    if len(args) != 2:
        raise ExpressionError("expected two arguments (value, defaultValue) for this function")
    value, default = args
    if nullish(value) or value == "":
        return default
    if isinstance(value, list | dict) and not value:
        return default
    return value


def _average(args: list[Any]) -> Any:
    return ARRAY_EXTENSIONS["average"](list(args), [])


def _number_list(args: list[Any]) -> list[Any]:
    start, end = to_number(arg(args, 0)), to_number(arg(args, 1))
    if not (math.isfinite(start) and math.isfinite(end)):
        raise ExpressionError("numberList(): start and end must be finite numbers")
    size = int(abs(start - end)) + 1
    if size > MAX_GROWTH:
        raise ExpressionError(f"numberList(): more than {MAX_GROWTH} numbers")
    expr_budget.charge(size)
    step = 1 if start < end else -1
    return [number(start + step * i) for i in range(size)]


def _zip(args: list[Any]) -> dict[str, Any]:
    keys, values = arg(args, 0), arg(args, 1)
    if not isinstance(keys, list) or not isinstance(values, list):
        raise ExpressionError("zip(): expected two arrays (keys, values)")
    if len(keys) != len(values):
        raise ExpressionError("keys and values not of equal length")
    expr_budget.charge(len(keys))
    return {to_string(k): v for k, v in zip(keys, values, strict=True)}


def _if(args: list[Any]) -> Any:
    """`$if` reached other than as a plain call (`$if(...spread)`, or passed around): the same choice, eager."""
    if len(args) < 2:
        raise ExpressionError("$if requires at least 2 parameters: test, value_if_true[, and value_if_false]")
    return args[1] if truthy(args[0]) else (args[2] if len(args) > 2 else False)


_MIN, _MAX = MATH.get("min"), MATH.get("max")

GLOBALS: dict[str, Any] = {
    "$ifEmpty": Fn("$ifEmpty", _if_empty), "$if": Fn("$if", _if),
    "$min": _MIN, "$max": _MAX, "min": _MIN, "max": _MAX,
    "$not": Fn("$not", lambda a: not truthy(arg(a, 0))), "$average": Fn("$average", _average),
    "average": Fn("average", _average), "numberList": Fn("numberList", _number_list), "zip": Fn("zip", _zip),
}


def lazy_if(arg_nodes: list[Any], evaluate: Callable[[Any], Any]) -> Any:
    """`$if(test, a, b)` as n8n runs it, rewritten to `test ? a : b`: only the branch taken is evaluated, and a
    missing third argument is `false`."""
    if len(arg_nodes) < 2:
        raise ExpressionError("$if requires at least 2 parameters: test, value_if_true[, and value_if_false]")
    if truthy(evaluate(arg_nodes[0])):
        return evaluate(arg_nodes[1])
    return evaluate(arg_nodes[2]) if len(arg_nodes) > 2 else False


def date_global(now: Callable[[], Any]) -> Fn:
    """`Date`: `Date.now()` is the execution's `$now` in milliseconds (so a replay sees the same time);
    `Date()` its text."""
    def millis(args: list[Any]) -> int:
        moment = now()
        assert isinstance(moment, DateValue)
        return moment.millis()
    return Fn("Date", lambda a: to_string(now()), {"now": Fn("now", millis)})

