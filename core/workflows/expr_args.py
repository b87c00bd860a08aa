"""How built-ins read their arguments, as JavaScript does: a missing one is undefined, indices are relative."""

from __future__ import annotations

import math
from typing import Any

from core.workflows import expr_budget
from core.workflows.errors import ExpressionError
from core.workflows.expr_values import UNDEFINED, Fn, to_number

MAX_STRING = 10_000_000


def arg(args: list[Any], i: int) -> Any:
    return args[i] if i < len(args) else UNDEFINED


def cap(text: str) -> str:
    reserve(len(text))
    return text


def reserve(length: int) -> None:
    """Checks a string of `length` characters may be built, before building it."""
    if length > MAX_STRING:
        raise ExpressionError(f"string longer than {MAX_STRING} characters")
    expr_budget.charge(length)


def integer(v: Any, default: int = 0) -> int:
    """ToIntegerOrInfinity, clamped to a Python int (infinities become huge values)."""
    if v is UNDEFINED:
        return default
    x = to_number(v)
    if isinstance(x, float):
        if math.isnan(x):
            return 0
        if math.isinf(x):
            return 2**53 if x > 0 else -(2**53)
    return int(x)


def relative(v: Any, length: int, default: int) -> int:
    """A start/end argument as slice(), splice(), at() ... read it: negative counts from the end, clamped."""
    if v is UNDEFINED:
        return default
    i = integer(v)
    if i < 0:
        return max(length + i, 0)
    return min(i, length)


def slice_bounds(length: int, args: list[Any]) -> tuple[int, int]:
    return relative(arg(args, 0), length, 0), relative(arg(args, 1), length, length)


def call(fn: Any, *args: Any) -> Any:
    """Calls a callback a built-in was given (`map(x => ...)`)."""
    if not isinstance(fn, Fn):
        raise ExpressionError("expected a function (an arrow function such as `x => x.id`)")
    return fn(list(args))
