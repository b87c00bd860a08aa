"""n8n's filter parameter (If v2.x, Switch v3.x): each condition's values parsed to its type, strictly or
loosely, then compared as n8n's executeFilterCondition does (packages/workflow/src/node-parameters/filter-parameter.ts)."""

from __future__ import annotations

import math
import re
from typing import Any

from core.workflows.date_parse import millis, parse_date
from core.workflows.errors import ExpressionError, NodeFailed
from core.workflows.expr_regexp import RegExpValue
from core.workflows.expr_values import UNDEFINED, compare, nullish, strict_equal, to_string, truthy, typeof
from core.workflows.set_values import parse_typed, text_of

_REGEX_LITERAL = re.compile(r"^/(.*?)/([gimusy]*)$")
_NO_RIGHT = ("exists", "notExists")
# DEFAULT_FILTER_OPTIONS of n8n's editor.
_EDITOR_DEFAULTS: dict[str, Any] = {"caseSensitive": True, "leftValue": "", "typeValidation": "strict"}


class _Invalid(Exception):
    pass


def _a(noun: str) -> str:
    return f"{'an' if noun[:1] in 'aeiou' and noun else 'a'} {noun}"


def _parse(value: Any, kind: str, strict: bool, version: int) -> Any:
    """parseSingleFilterValue: the value as `kind`, or _Invalid."""
    if kind == "any" or nullish(value):
        return value
    if kind == "boolean" and not strict:
        if version >= 2:
            try:
                return parse_typed("boolean", value)
            except ValueError:
                pass
        return truthy(value)
    if kind == "number" and isinstance(value, float) and math.isnan(value):
        return value
    expected = {"string": str, "number": int | float, "boolean": bool, "array": list, "object": dict | list}
    if strict and kind in expected and (not isinstance(value, expected[kind])
                                        or (kind == "number" and isinstance(value, bool))):
        raise _Invalid
    try:
        if kind == "string":
            return text_of(value)
        if kind == "dateTime":
            moment = parse_date(value)
            if moment is None:
                raise _Invalid
            return moment
        if kind in ("number", "boolean", "array", "object"):
            return parse_typed(kind, value)
    except ValueError as err:
        raise _Invalid from err
    return value


def _parsed(value: Any, kind: str, strict: bool, version: int) -> tuple[bool, Any]:
    try:
        return True, _parse(value, kind, strict, version)
    except _Invalid:
        return False, UNDEFINED


def _values(cond: dict[str, Any], operator: dict[str, Any], strict: bool, version: int, where: str) -> tuple[Any, Any]:
    kind = str(operator.get("type", "string"))
    right_kind = str(operator.get("rightType", kind))
    left, right = cond.get("leftValue", UNDEFINED), cond.get("rightValue", UNDEFINED)
    left_ok, left_value = _parsed(left, kind, strict, version)
    right_ok, right_value = _parsed(right, right_kind, strict, version)
    right_ok = right_ok or bool(operator.get("singleValue"))
    if not left_ok and not right_ok and typeof(left) == typeof(right):
        raise NodeFailed(f"Comparison type expects {_a(kind)} but both fields are {_a(typeof(left))}")
    for ok, value, expected in ((left_ok, left, kind), (right_ok, right, right_kind)):
        if not ok:
            shown, what = to_string(value), typeof(value)
            raise NodeFailed(f"Wrong type: '{shown}' is {_a(what)} but was expecting {_a(expected)} {where}" if strict
                             else f"Conversion error: the {what} '{shown}' can't be converted to {_a(expected)} {where}")
    return left_value, right_value


def _regex_test(pattern: Any, text: str) -> bool:
    source = to_string(pattern)
    m = _REGEX_LITERAL.match(source)
    try:
        rx = RegExpValue(m.group(1), m.group(2)) if m else RegExpValue(source, "")
        return rx.exec(text) is not None
    except ExpressionError as err:
        raise NodeFailed(f"invalid regular expression {source!r}: {err}") from err


def _string(op: str, left: Any, right: Any, ignore_case: bool) -> bool:
    if ignore_case:
        left = left.lower() if isinstance(left, str) else left
        right = right.lower() if isinstance(right, str) and op not in ("regex", "notRegex") else right
    a = "" if nullish(left) else left
    b = "" if nullish(right) else right
    tests = {"empty": lambda: len(a) == 0, "equals": lambda: a == b, "contains": lambda: b in a,
             "startsWith": lambda: a.startswith(b), "endsWith": lambda: a.endswith(b),
             "regex": lambda: _regex_test(b, a)}
    negated = op.startswith("not") and op[3:4].isupper()
    base = op[3].lower() + op[4:] if negated else op
    return base in tests and bool(tests[base]()) != negated


def _number(op: str, left: Any, right: Any, exists: bool) -> bool:
    if op in ("empty", "notEmpty"):
        return exists != (op == "empty")
    if op in ("equals", "notEquals"):
        return strict_equal(left, right) != (op == "notEquals")
    symbols = {"gt": ">", "lt": "<", "gte": ">=", "lte": "<="}
    return op in symbols and compare(symbols[op], left, right)


def _date(op: str, left: Any, right: Any, exists: bool) -> bool:
    if op in ("empty", "notEmpty"):
        return exists != (op == "empty")
    if left is None or left is UNDEFINED or right is None or right is UNDEFINED:
        return False
    a, b = millis(left), millis(right)
    return {"equals": a == b, "notEquals": a != b, "after": a > b, "before": a < b, "afterOrEquals": a >= b,
            "beforeOrEquals": a <= b}.get(op, False)


def _boolean(op: str, left: Any, right: Any, exists: bool) -> bool:
    if op in ("empty", "notEmpty"):
        return exists != (op == "empty")
    if op in ("true", "false"):
        return truthy(left) == (op == "true")
    if op in ("equals", "notEquals"):
        return strict_equal(left, right) != (op == "notEquals")
    return False


def _contains(items: list[Any], value: Any, ignore_case: bool) -> bool:
    if ignore_case and isinstance(value, str):
        return any(isinstance(x, str) and x.lower() == value.lower() for x in items)
    # Array.prototype.includes: SameValueZero, so objects only ever equal themselves.
    return any(not isinstance(x, dict | list) and (strict_equal(x, value) or (
        isinstance(x, float) and isinstance(value, float) and math.isnan(x) and math.isnan(value))) for x in items)


def _array(op: str, left: Any, right: Any, ignore_case: bool) -> bool:
    items = [] if nullish(left) else left
    if op in ("contains", "notContains"):
        return _contains(items, right, ignore_case) != (op == "notContains")
    lengths = {"lengthEquals": "==", "lengthNotEquals": "!=", "lengthGt": ">", "lengthLt": "<", "lengthGte": ">=",
               "lengthLte": "<="}
    if op in lengths:
        n = len(items)
        return not strict_equal(n, right) if lengths[op] == "!=" else (
            strict_equal(n, right) if lengths[op] == "==" else compare(lengths[op], n, right))
    if op in ("empty", "notEmpty"):
        return (len(items) == 0) == (op == "empty")
    return False


def condition_passes(cond: dict[str, Any], options: dict[str, Any], strict: bool, where: str) -> bool:
    operator: dict[str, Any] = cond["operator"] if isinstance(cond.get("operator"), dict) else {}
    kind, op = str(operator.get("type", "string")), str(operator.get("operation", "equals"))
    version = options.get("version", 1) if isinstance(options.get("version"), int) else 1
    ignore_case = not options.get("caseSensitive")
    left, right = _values(cond, operator, strict, version, where)
    exists = not nullish(left) and not (isinstance(left, float) and math.isnan(left))
    if op in _NO_RIGHT:
        return exists == (op == "exists")
    if kind == "string":
        return _string(op, left, right, ignore_case)
    if kind == "number":
        return _number(op, left, right, exists)
    if kind == "dateTime":
        return _date(op, left, right, exists)
    if kind == "boolean":
        return _boolean(op, left, right, exists)
    if kind == "array":
        return _array(op, left, right, ignore_case)
    if kind == "object" and op in ("empty", "notEmpty"):
        return (not truthy(left) or len(left) == 0) == (op == "empty")
    return False


def filter_passes(spec: Any, loose_override: bool = False, item_index: int | None = None) -> bool:
    """A resolved filter value (`{conditions, combinator, options}`): whether the item passes. A value that is
    not a filter (no conditions or no combinator) counts by its truthiness, as n8n's `if (pass)` does."""
    if not (isinstance(spec, dict) and "conditions" in spec and "combinator" in spec):
        return truthy(spec)
    # n8n's editor always writes the options; a hand-written filter without them gets the editor's defaults.
    options = spec["options"] if isinstance(spec.get("options"), dict) else _EDITOR_DEFAULTS
    conditions = spec["conditions"]
    if not isinstance(conditions, list):
        raise NodeFailed("the conditions are not a list of conditions")
    strict = options.get("typeValidation") == "strict" and not loose_override

    def passes(k: int, cond: Any) -> bool:
        where = f"[condition {k}, item {item_index}]" if item_index is not None else f"[condition {k}]"
        return isinstance(cond, dict) and condition_passes(cond, options, strict, where)

    if spec["combinator"] == "and":
        return all(passes(k, c) for k, c in enumerate(conditions))
    if spec["combinator"] == "or":
        return any(passes(k, c) for k, c in enumerate(conditions))
    return False
