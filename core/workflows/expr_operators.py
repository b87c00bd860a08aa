"""JavaScript's binary operators over expression values: `+` (text or sum), arithmetic, equality, comparison."""

from __future__ import annotations

import math
from typing import Any

from core.workflows.errors import ExpressionError
from core.workflows.expr_values import (
    Fn,
    JsObject,
    compare,
    loose_equal,
    number,
    strict_equal,
    to_number,
    to_string,
)


def binary(op: str, a: Any, b: Any) -> Any:
    if op == "+":
        pa, pb = _to_primitive(a), _to_primitive(b)
        if isinstance(pa, str) or isinstance(pb, str):
            text = to_string(pa) + to_string(pb)
            if len(text) > 10_000_000:
                raise ExpressionError("string longer than 10000000 characters")
            return text
        return number(to_number(pa) + to_number(pb))
    if op in ("-", "*", "/", "%", "**"):
        return _arith(op, to_number(a), to_number(b))
    if op == "===":
        return strict_equal(a, b)
    if op == "!==":
        return not strict_equal(a, b)
    if op == "==":
        return loose_equal(a, b)
    if op == "!=":
        return not loose_equal(a, b)
    return compare(op, a, b)


def _to_primitive(v: Any) -> Any:
    if isinstance(v, list | dict | JsObject | Fn):
        return to_string(v)
    return v


def _arith(op: str, x: int | float, y: int | float) -> int | float:
    try:
        if op == "-":
            return number(x - y)
        if op == "*":
            return number(x * y)
        if op == "/":
            if y == 0:
                return math.nan if x == 0 or math.isnan(x) else math.copysign(math.inf, x) * math.copysign(1, y)
            return number(x / y)
        if op == "%":
            if y == 0 or math.isinf(x):
                return math.nan
            return number(math.fmod(x, y))
        if abs(y) > 1024 and abs(x) > 1:
            raise ExpressionError("exponent too large")
        return number(float(x) ** y if not (isinstance(x, int) and isinstance(y, int) and y >= 0) else x**y)
    except (OverflowError, ZeroDivisionError, ValueError):
        return math.nan
