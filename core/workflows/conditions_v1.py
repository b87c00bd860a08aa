"""If v1's conditions (n8n's IfV1): per data type lists of {value1, operation, value2}, compared with
JavaScript's own operators on the values as they are (no conversion), checked in order until the answer is known."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from core.workflows.date_parse import millis, parse_date
from core.workflows.errors import ExpressionError, NodeFailed
from core.workflows.expr_regexp import RegExpValue
from core.workflows.expr_values import UNDEFINED, compare, strict_equal, to_string, truthy

KINDS = ("boolean", "dateTime", "number", "string")
# What n8n fills in for what an export leaves out (IfV1.node.ts).
DEFAULT_OPERATION = {"boolean": "equal", "dateTime": "after", "number": "smaller", "string": "equal"}
DEFAULT_VALUE: dict[str, Any] = {"boolean": False, "dateTime": "", "number": 0, "string": ""}
OPERATIONS = {
    "boolean": ("equal", "notEqual"),
    "dateTime": ("after", "before"),
    "number": ("smaller", "smallerEqual", "equal", "notEqual", "larger", "largerEqual", "isEmpty", "isNotEmpty"),
    "string": ("contains", "notContains", "endsWith", "notEndsWith", "equal", "notEqual", "regex", "notRegex",
               "startsWith", "notStartsWith", "isEmpty", "isNotEmpty"),
}
_REGEX_LITERAL = re.compile(r"^/(.*?)/([gimusy]*)$")


def _or(value: Any, fallback: Any) -> Any:
    """JavaScript's `value || fallback`."""
    return value if truthy(value) else fallback


def _empty(v: Any) -> bool:
    if v is UNDEFINED or v is None or v == "" and isinstance(v, str) or (isinstance(v, float) and math.isnan(v)):
        return True
    return isinstance(v, dict | list) and len(v) == 0


def _text_method(v: Any, method: str) -> str:
    if not isinstance(v, str):
        raise NodeFailed(f"value1.{method} is not a function: {to_string(v)!r} is not text")
    return v


def _regex(v1: Any, v2: Any) -> bool:
    source = to_string(_or(v2, ""))
    m = _REGEX_LITERAL.match(source)
    try:
        rx = RegExpValue(m.group(1), m.group(2)) if m else RegExpValue(source, "")
        return rx.exec(to_string(_or(v1, ""))) is not None
    except ExpressionError as err:
        raise NodeFailed(f"invalid regular expression {source!r}: {err}") from err


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "after": lambda a, b: compare(">", _or(a, 0), _or(b, 0)),
    "before": lambda a, b: compare("<", _or(a, 0), _or(b, 0)),
    "larger": lambda a, b: compare(">", _or(a, 0), _or(b, 0)),
    "largerEqual": lambda a, b: compare(">=", _or(a, 0), _or(b, 0)),
    "smaller": lambda a, b: compare("<", _or(a, 0), _or(b, 0)),
    "smallerEqual": lambda a, b: compare("<=", _or(a, 0), _or(b, 0)),
    "equal": strict_equal,
    "notEqual": lambda a, b: not strict_equal(a, b),
    "contains": lambda a, b: to_string(_or(b, "")) in to_string(_or(a, "")),
    "notContains": lambda a, b: to_string(_or(b, "")) not in to_string(_or(a, "")),
    "startsWith": lambda a, b: _text_method(a, "startsWith").startswith(to_string(b)),
    "notStartsWith": lambda a, b: not _text_method(a, "startsWith").startswith(to_string(b)),
    "endsWith": lambda a, b: _text_method(a, "endsWith").endswith(to_string(b)),
    "notEndsWith": lambda a, b: not _text_method(a, "endsWith").endswith(to_string(b)),
    "isEmpty": lambda a, b: _empty(a),
    "isNotEmpty": lambda a, b: not _empty(a),
    "regex": _regex,
    "notRegex": lambda a, b: not _regex(a, b),
}


def _date(value: Any) -> float:
    """convertDateTime: text through JavaScript's Date, a number as milliseconds, anything else an error."""
    if isinstance(value, int | float) and not isinstance(value, bool) and not math.isnan(value):
        return value
    moment = parse_date(value) if isinstance(value, str) else None
    if moment is None:
        raise NodeFailed(f'The value "{to_string(value)}" is not a valid DateTime.')
    return millis(moment)


def condition(kind: str, cond: dict[str, Any]) -> bool:
    op = str(cond.get("operation", DEFAULT_OPERATION[kind]))
    left = cond.get("value1", DEFAULT_VALUE[kind])
    right = cond.get("value2", DEFAULT_VALUE[kind])
    if kind == "dateTime":
        left, right = _date(left), _date(right)
    test = _COMPARE.get(op)
    if test is None:
        raise NodeFailed(f"compareOperationFunctions[{op!r}] is not a function: If v1 has no operation {op!r}")
    return test(left, right)


def v1_passes(conditions_of: Callable[[str], Any], combine: Any) -> bool:
    """`conditions_of(kind)` resolves one data type's list, when it is reached: with `any` the first condition
    that holds decides, with `all` the first that fails (so later ones are never evaluated)."""
    for kind in KINDS:
        listed = conditions_of(kind)
        for cond in listed if isinstance(listed, list) else []:
            if not isinstance(cond, dict):
                continue
            result = condition(kind, cond)
            if result and combine == "any":
                return True
            if not result and combine == "all":
                return False
    return combine == "all"
