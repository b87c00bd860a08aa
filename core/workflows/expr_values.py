"""JavaScript value semantics over Python values: undefined, truthiness, equality, conversion, JSON."""

from __future__ import annotations

import json
import math
from typing import Any

from core.workflows import expr_budget
from core.workflows.errors import ExpressionError


class _Undefined:
    __slots__ = ()

    def __repr__(self) -> str:
        return "undefined"

    def __bool__(self) -> bool:
        return False


UNDEFINED: Any = _Undefined()


class _Hole:
    """An array slot never written (`Array(3)`): reads as undefined; map, filter, forEach ... skip it."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<empty>"


HOLE: Any = _Hole()


class JsObject:
    """A host object with properties (a namespace such as JSON, a node proxy, a date, a regular expression)."""

    # Whether its properties may hand out the workflow's own data (lists and dicts of items), which an
    # expression that can mutate must get copies of.
    shares_data = True

    def get(self, key: str) -> Any:
        return UNDEFINED

    def set(self, key: str, value: Any) -> None:
        raise ExpressionError(f"cannot set property '{key}' of {to_string(self)}")

    def type_name(self) -> str:
        return "object"


class JsArray(list[Any]):
    """An array with named properties besides its elements (a regex match: `index`, `input`, `groups`)."""

    def __init__(self, items: list[Any], props: dict[str, Any]) -> None:
        super().__init__(items)
        self.props = props


class Fn:
    """A callable value: a built-in function, a bound method or a closure; `members` for `Array.from` & co."""

    __slots__ = ("name", "impl", "members")

    def __init__(self, name: str, impl: Any, members: dict[str, Any] | None = None) -> None:
        self.name = name
        self.impl = impl
        self.members = members

    def __call__(self, args: list[Any]) -> Any:
        return self.impl(args)


def nullish(v: Any) -> bool:
    return v is None or v is UNDEFINED


def number(v: Any) -> int | float:
    """A JS number as Python: integral floats become ints, so they print as JavaScript prints them."""
    if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
        return int(v)
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 2**53:
        # Past 2**53 JavaScript has only doubles; staying an int would let `x * x` grow without bound.
        try:
            return float(v)
        except OverflowError:
            return math.inf if v > 0 else -math.inf
    return v  # type: ignore[no-any-return]


def truthy(v: Any) -> bool:
    if v is None or v is UNDEFINED or v is False:
        return False
    if isinstance(v, bool):
        return v
    if isinstance(v, int | float):
        return not (v == 0 or (isinstance(v, float) and math.isnan(v)))
    if isinstance(v, str):
        return v != ""
    return True


def typeof(v: Any) -> str:
    if v is UNDEFINED:
        return "undefined"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int | float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, Fn):
        return "function"
    return "object"


def num_to_string(v: int | float) -> str:
    if isinstance(v, int):
        return str(v)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    if v.is_integer() and abs(v) < 1e21:
        return str(int(v))
    text = repr(v)
    if "e" in text:
        mantissa, exp = text.split("e")
        sign = "+" if not exp.startswith("-") else "-"
        return f"{mantissa}e{sign}{exp.lstrip('+-').lstrip('0') or '0'}"
    return text


def to_string(v: Any) -> str:
    """JavaScript's String(v)."""
    if isinstance(v, str):
        return v
    if v is None:
        return "null"
    if v is UNDEFINED:
        return "undefined"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return num_to_string(v)
    if isinstance(v, list):
        return ",".join("" if nullish(x) or x is HOLE else to_string(x) for x in v)
    if isinstance(v, Fn):
        return f"function {v.name}() {{ [native code] }}"
    if isinstance(v, JsObject):
        text = v.get("toString")
        if isinstance(text, Fn):
            return to_string(text([]))
    return "[object Object]"


def to_number(v: Any) -> int | float:
    if isinstance(v, bool):
        return 1 if v else 0
    if isinstance(v, int | float):
        return v
    if v is None:
        return 0
    if isinstance(v, str):
        text = v.strip()
        if text == "":
            return 0
        try:
            if text.lower().startswith(("0x", "-0x", "+0x")):
                return int(text, 16)
            if text in ("Infinity", "+Infinity"):
                return math.inf
            if text == "-Infinity":
                return -math.inf
            if text.lower() in ("inf", "-inf", "+inf", "nan", "infinity", "-infinity"):
                return math.nan
            return number(float(text)) if any(c in text for c in ".eE") else int(text)
        except ValueError:
            return math.nan
    if isinstance(v, list):
        if not v:
            return 0
        if len(v) == 1:
            return to_number(v[0])
    return math.nan


def _primitive(v: Any) -> Any:
    if isinstance(v, list | dict | JsObject | Fn):
        return to_string(v)
    return v


def loose_equal(a: Any, b: Any) -> bool:
    if nullish(a) or nullish(b):
        return nullish(a) and nullish(b)
    if type(a) is type(b) or (_is_num(a) and _is_num(b)):
        return strict_equal(a, b)
    if isinstance(a, list | dict | JsObject) and isinstance(b, list | dict | JsObject):
        return a is b
    a, b = _primitive(a), _primitive(b)
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    return to_number(a) == to_number(b)


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def strict_equal(a: Any, b: Any) -> bool:
    if _is_num(a) and _is_num(b):
        return bool(a == b)
    if type(a) is not type(b):
        return False
    if isinstance(a, list | dict | JsObject | Fn):
        return a is b
    return bool(a == b)


def compare(op: str, a: Any, b: Any) -> bool:
    a, b = _primitive(a), _primitive(b)
    if not (isinstance(a, str) and isinstance(b, str)):
        a, b = to_number(a), to_number(b)
        if isinstance(a, float) and math.isnan(a) or isinstance(b, float) and math.isnan(b):
            return False
    if op == "<":
        return bool(a < b)
    if op == ">":
        return bool(a > b)
    if op == "<=":
        return bool(a <= b)
    return bool(a >= b)


def to_json_value(v: Any, depth: int = 0) -> Any:
    """The value as plain JSON data (what JSON.stringify would write), dropping undefined in objects."""
    if depth > 100:
        raise ExpressionError("value nested too deeply to serialise")
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, int | float):
        if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
            return None
        return number(v)
    if isinstance(v, list):
        return [None if (x is UNDEFINED or x is HOLE or isinstance(x, Fn)) else to_json_value(x, depth + 1) for x in v]
    if isinstance(v, dict):
        return {str(k): to_json_value(x, depth + 1) for k, x in v.items() if x is not UNDEFINED and not isinstance(x, Fn)}
    if isinstance(v, JsObject):
        as_json = v.get("toJSON")
        if isinstance(as_json, Fn):
            return to_json_value(as_json([]), depth + 1)
        return {}
    return None


def stringify(v: Any, indent: Any = None) -> Any:
    """JSON.stringify: undefined for undefined and functions, else compact JSON (or indented)."""
    if v is UNDEFINED or isinstance(v, Fn):
        return UNDEFINED
    data = to_json_value(v)
    if isinstance(indent, int | float) and not isinstance(indent, bool) and indent > 0:
        return json.dumps(data, ensure_ascii=False, indent=min(int(indent), 10))
    if isinstance(indent, str) and indent:
        return json.dumps(data, ensure_ascii=False, indent=indent[:10])
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def from_json(text: Any) -> Any:
    """JSON.parse: numbers become ints where integral, as JavaScript shows them."""
    if not isinstance(text, str):
        text = to_string(text)
    try:
        return json.loads(text, parse_float=lambda s: number(float(s)), parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as err:
        raise ExpressionError(f"JSON.parse: {err}") from err


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"unexpected token {name}")


def spread_object(value: Any) -> dict[str, Any]:
    """The own properties `{...value}` copies: an object's entries, an array's or a string's by index."""
    if isinstance(value, dict):
        expr_budget.charge(len(value))
        return dict(value)
    if isinstance(value, list | str):
        expr_budget.charge(len(value))
        return {str(i): x for i, x in enumerate(value) if x is not HOLE}
    return {}
