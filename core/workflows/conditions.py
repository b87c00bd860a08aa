"""n8n's conditions: the filter of If v2 / Switch v3 (typed operators) and If v1's per-type lists."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any

from core.workflows.errors import NodeFailed
from core.workflows.expr_values import UNDEFINED, nullish, to_number, to_string


def _empty(v: Any) -> bool:
    if nullish(v):
        return True
    if isinstance(v, str | list | dict):
        return len(v) == 0
    return False


def _type_ok(kind: str, v: Any) -> bool:
    if nullish(v):
        return True
    if kind == "string":
        return isinstance(v, str)
    if kind == "number":
        return isinstance(v, int | float) and not isinstance(v, bool)
    if kind == "boolean":
        return isinstance(v, bool)
    if kind == "array":
        return isinstance(v, list)
    if kind == "object":
        return isinstance(v, dict)
    if kind == "dateTime":
        return isinstance(v, str) and _date(v) is not None
    return True


def _loose(kind: str, v: Any) -> Any:
    if nullish(v):
        return v
    if kind == "string":
        return v if isinstance(v, str) else to_string(v)
    if kind == "number":
        x = to_number(v)
        return None if isinstance(x, float) and math.isnan(x) else x
    if kind == "boolean":
        if isinstance(v, str):
            return {"true": True, "false": False, "1": True, "0": False}.get(v.strip().lower(), v)
        return bool(v) if isinstance(v, int | float) else v
    return v


def _date(v: Any) -> datetime | None:
    if not isinstance(v, str):
        return None
    try:
        parsed = datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _regex(pattern: Any) -> re.Pattern[str]:
    text = to_string(pattern)
    flags = 0
    m = re.fullmatch(r"/(.*)/([gimsuy]*)", text, re.DOTALL)
    if m:
        text = m.group(1)
        flags = re.IGNORECASE if "i" in m.group(2) else 0
        flags |= re.MULTILINE if "m" in m.group(2) else 0
    try:
        return re.compile(text, flags)
    except re.error as err:
        raise NodeFailed(f"invalid regular expression {text!r}: {err}") from err


def _compare(op: str, a: Any, b: Any) -> bool:
    if a is None or b is None or a is UNDEFINED or b is UNDEFINED:
        return False
    try:
        return bool({"gt": a > b, "lt": a < b, "gte": a >= b, "lte": a <= b}[op])
    except TypeError:
        return False


def operate(kind: str, op: str, left: Any, right: Any, case_sensitive: bool = True) -> bool:
    """One typed condition, as n8n's filter evaluates it (values already converted to `kind`)."""
    if op == "exists":
        return not nullish(left)
    if op == "notExists":
        return nullish(left)
    if op == "empty":
        return _empty(left)
    if op == "notEmpty":
        return not _empty(left)
    if kind == "string" and not case_sensitive:
        left = left.lower() if isinstance(left, str) else left
        right = right.lower() if isinstance(right, str) else right
    if kind == "boolean" and op in ("true", "false"):
        return left is (op == "true")
    if kind == "dateTime":
        left, right = _date(left), _date(right)
        op = {"after": "gt", "before": "lt", "afterOrEquals": "gte", "beforeOrEquals": "lte"}.get(op, op)
    if kind == "array" and op.startswith("length"):
        n = len(left) if isinstance(left, list) else 0
        return _length(op, n, right)
    if op == "equals":
        return bool(left == right) and not (isinstance(left, bool) ^ isinstance(right, bool))
    if op == "notEquals":
        return not operate(kind, "equals", left, right)
    if op in ("gt", "lt", "gte", "lte"):
        return _compare(op, left, right)
    negate = op.startswith("not")
    base = op[3].lower() + op[4:] if negate else op
    result = _text_op(kind, base, left, right)
    return not result if negate else result


def _length(op: str, n: int, right: Any) -> bool:
    want = to_number(right)
    return {"lengthEquals": n == want, "lengthNotEquals": n != want, "lengthGt": n > want, "lengthLt": n < want,
            "lengthGte": n >= want, "lengthLte": n <= want}.get(op, False)


def _text_op(kind: str, op: str, left: Any, right: Any) -> bool:
    if op == "contains":
        if isinstance(left, list):
            return right in left
        return isinstance(left, str) and to_string(right) in left
    if not isinstance(left, str):
        return False
    if op == "startsWith":
        return left.startswith(to_string(right))
    if op == "endsWith":
        return left.endswith(to_string(right))
    if op == "regex":
        return _regex(right).search(left) is not None
    raise NodeFailed(f"unsupported {kind} operation {op!r}")


def _check(kind: str, value: Any, strict: bool, side: str, index: int) -> Any:
    if kind in ("any", ""):
        return value
    if strict:
        if not _type_ok(kind, value):
            raise NodeFailed(f"wrong type: {side} value of condition {index + 1} is {_js_type(value)} "
                             f"{to_string(value)!r}, but the condition expects a {kind} (turn on "
                             "'Convert types where required' or fix the value)")
        return value
    return _loose(kind, value)


def _js_type(v: Any) -> str:
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, int | float):
        return "a number"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, list):
        return "an array"
    return "an object"


def filter_passes(spec: Any, loose_override: bool = False) -> bool:
    """A resolved filter (`{conditions, combinator, options}`): whether the item passes it."""
    if not isinstance(spec, dict):
        return True
    options: dict[str, Any] = spec["options"] if isinstance(spec.get("options"), dict) else {}
    case_sensitive = options.get("caseSensitive", True) is not False
    strict = options.get("typeValidation", "strict") == "strict" and not loose_override
    conditions: list[Any] = spec["conditions"] if isinstance(spec.get("conditions"), list) else []
    results = []
    for i, cond in enumerate(conditions):
        if not isinstance(cond, dict):
            continue
        operator: dict[str, Any] = cond["operator"] if isinstance(cond.get("operator"), dict) else {}
        kind = str(operator.get("type", "string"))
        op = str(operator.get("operation", "equals"))
        left = _check(kind, cond.get("leftValue", ""), strict, "left", i)
        right_kind = str(operator.get("rightType", kind))
        right = cond.get("rightValue", "")
        if not operator.get("singleValue") and op not in ("exists", "notExists", "empty", "notEmpty", "true", "false"):
            right = _check(right_kind if not op.startswith("length") else "number", right, strict, "right", i)
        results.append(operate(kind, op, left, right, case_sensitive))
    if spec.get("combinator", "and") == "or":
        return any(results)
    return all(results)


# -- If v1 -------------------------------------------------------------------------------------------------

_V1_OPS = {"equal": "equals", "notEqual": "notEquals", "smaller": "lt", "smallerEqual": "lte", "larger": "gt",
           "largerEqual": "gte", "isEmpty": "empty", "isNotEmpty": "notEmpty", "contains": "contains",
           "notContains": "notContains", "startsWith": "startsWith", "notStartsWith": "notStartsWith",
           "endsWith": "endsWith", "notEndsWith": "notEndsWith", "regex": "regex", "notRegex": "notRegex",
           "after": "gt", "before": "lt"}
_V1_DEFAULTS = {"string": "", "number": 0, "boolean": False, "dateTime": ""}


def v1_passes(conditions: Any, combine: Any) -> bool:
    """If v1: `conditions.{string,number,boolean,dateTime}` lists of {value1, operation, value2}."""
    results = []
    for kind in ("boolean", "dateTime", "number", "string"):
        for cond in (conditions or {}).get(kind, []) if isinstance(conditions, dict) else []:
            if not isinstance(cond, dict):
                continue
            op = _V1_OPS.get(str(cond.get("operation", "equal")), str(cond.get("operation", "equal")))
            left = _loose(kind, cond.get("value1", _V1_DEFAULTS[kind]))
            right = _loose(kind, cond.get("value2", _V1_DEFAULTS[kind]))
            results.append(operate(kind, op, left, right))
    if combine == "any":
        return any(results)
    return all(results)
