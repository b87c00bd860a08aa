"""What n8n's extension functions share: their errors, deep equality, JSON output and timestamps as dates."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from core.workflows import expr_budget
from core.workflows.errors import ExpressionError
from core.workflows.expr_dates import DateValue
from core.workflows.expr_values import HOLE, UNDEFINED, Fn, JsObject, nullish, stringify, to_string, truthy

# An extension: (the value it is called on, its arguments) -> result.
Extension = Callable[[Any, list[Any]], Any]


def bind(name: str, impl: Extension, value: Any) -> Fn:
    return Fn(name, lambda args: impl(value, args))


def undefined(value: Any, args: list[Any]) -> Any:
    """n8n's toInt/toFloat/toBoolean/toDateTime on types they mean nothing for: undefined, not an error."""
    return UNDEFINED


def to_json_string(value: Any, args: list[Any]) -> Any:
    return stringify(value)


def is_object(value: Any) -> bool:
    """JavaScript's `typeof value === 'object'` (null included) for the values expressions hold."""
    return value is None or isinstance(value, dict | list | JsObject)


def has_key(value: Any, key: Any) -> bool:
    """`key in value` for an object or an array (own properties; the prototype's are left out)."""
    name = to_string(key)
    if isinstance(value, dict):
        return name in value
    if isinstance(value, list):
        return name == "length" or (name.isdigit() and int(name) < len(value) and value[int(name)] is not HOLE)
    return False


def equality_key(value: Any) -> Any:
    """A hashable stand-in equal for values deep-equal (npm deep-equal, strict): objects by their entries
    whatever their order, arrays by their elements in order, NaN equal to itself, 1 and '1' apart."""
    seen = [0]
    key = _key(value, 0, seen)
    expr_budget.charge(seen[0])  # the values walked, as the other built-ins count what they scan
    return key


def _key(value: Any, depth: int, seen: list[int]) -> Any:
    if depth > 100:
        raise ExpressionError("value nested too deeply to compare")
    seen[0] += 1
    if value is None or value is UNDEFINED or value is HOLE:
        return ("null",) if value is None else ("undefined",)
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, int | float):
        if isinstance(value, float) and math.isnan(value):
            return ("nan",)
        return ("n", float(value), math.copysign(1, value) if value == 0 else 0)
    if isinstance(value, str):
        return ("s", value)
    if isinstance(value, list):
        return ("a", tuple(_key(x, depth + 1, seen) for x in value))
    if isinstance(value, dict):
        return ("o", frozenset((k, _key(x, depth + 1, seen)) for k, x in value.items()))
    if isinstance(value, DateValue):
        return ("d", value.millis())
    return ("x", id(value))


def is_empty_value(value: Any) -> bool:
    """n8n's generic isEmpty (for undefined, null, booleans and numbers): `!value`."""
    return not truthy(value)


def from_millis(ms: float) -> DateValue:
    if not math.isfinite(ms):
        raise ExpressionError("invalid timestamp")
    try:
        return DateValue(datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms))
    except OverflowError as err:
        raise ExpressionError("timestamp out of range") from err


_EXCEL_EPOCH_DAYS = 25567 + 2  # days from 1900 to 1970, plus Excel's two-day offset (its 1900 leap-year bug)


def timestamp_to_date(value: float, unit: Any) -> DateValue:
    """NumberExtensions.toDateTime: a Unix timestamp in 'ms' (the default), 's', 'us', or an Excel day number."""
    kind = "ms" if nullish(unit) else to_string(unit)
    if kind == "ms":
        return from_millis(value)
    if kind == "s":
        return from_millis(value * 1000)
    if kind == "us":
        return from_millis(value / 1000)
    if kind == "excel":
        return from_millis((value - _EXCEL_EPOCH_DAYS) * 86_400_000)
    raise ExpressionError(f"Unsupported format '{kind}'. toDateTime() supports 'ms', 's', 'us' and 'excel'.")
