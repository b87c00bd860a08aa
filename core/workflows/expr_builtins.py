"""The plain globals expressions may call (JSON, Math, Object, Number, parseInt ...) and the methods of numbers,
booleans and objects. No I/O, no clock, no randomness."""

from __future__ import annotations

import math
import re
import urllib.parse
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any

from core.workflows.errors import ExpressionError
from core.workflows import expr_budget
from core.workflows.expr_args import arg as _arg
from core.workflows.expr_args import integer
from core.workflows.expr_values import (
    HOLE,
    UNDEFINED,
    Fn,
    JsObject,
    from_json,
    nullish,
    number,
    num_to_string,
    strict_equal,
    stringify,
    to_number,
    to_string,
    truthy,
)


def _fn(name: str, impl: Any) -> Fn:
    return Fn(name, impl)


class Namespace(JsObject):
    shares_data = False

    def __init__(self, name: str, members: dict[str, Any]) -> None:
        self.name = name
        self.members = members

    def get(self, key: str) -> Any:
        return self.members.get(key, UNDEFINED)


def _math(name: str, impl: Any, arity: int | None = 1) -> Fn:
    """A Math function; a fixed-arity one ignores extra arguments (`[0.5].map(Math.round)` passes three)."""
    def run(args: list[Any]) -> Any:
        if arity is not None:
            args = [_arg(args, i) for i in range(arity)]
        return number(impl(*[to_number(x) for x in args]))
    return _fn(name, run)


def _safe(impl: Any) -> Any:
    def run(*xs: float) -> float:
        try:
            return float(impl(*xs))
        except ValueError:
            return math.nan
        except OverflowError:
            return math.inf
    return run


def _integral(impl: Any) -> Any:
    def run(x: float) -> float:
        return x if math.isnan(x) or math.isinf(x) else float(impl(x))
    return run


def _round(x: float) -> float:
    down = math.floor(x)
    return float(down + 1 if x - down >= 0.5 else down)  # x + 0.5 would round 0.49999999999999994 up


def _minmax(pick: Any, empty: float) -> Any:
    def run(*xs: float) -> float:
        if any(isinstance(x, float) and math.isnan(x) for x in xs):
            return math.nan
        return pick(xs) if xs else empty
    return run


MATH = Namespace("Math", {
    "round": _math("round", _integral(_round)), "floor": _math("floor", _integral(math.floor)),
    "ceil": _math("ceil", _integral(math.ceil)), "trunc": _math("trunc", _integral(math.trunc)),
    "abs": _math("abs", _safe(abs)), "sqrt": _math("sqrt", _safe(math.sqrt)),
    "pow": _math("pow", _safe(math.pow), 2), "exp": _math("exp", _safe(math.exp)),
    "min": _math("min", _minmax(min, math.inf), None), "max": _math("max", _minmax(max, -math.inf), None),
    "sign": _math("sign", _safe(lambda x: x if math.isnan(x) else (x > 0) - (x < 0))),
    "log": _math("log", _safe(lambda x: -math.inf if x == 0 else math.log(x))),
    "log10": _math("log10", _safe(lambda x: -math.inf if x == 0 else math.log10(x))),
    "log2": _math("log2", _safe(lambda x: -math.inf if x == 0 else math.log2(x))),
    "cbrt": _math("cbrt", _safe(lambda x: math.copysign(abs(x) ** (1 / 3), x))),
    "PI": math.pi, "E": math.e,
})


def _parse_int(args: list[Any]) -> Any:
    text = to_string(_arg(args, 0)).strip()
    sign = -1 if text.startswith("-") else 1
    text = text[1:] if text[:1] in ("+", "-") else text
    radix = integer(_arg(args, 1)) % 2**32
    if radix != 0 and not 2 <= radix <= 36:
        return math.nan
    if radix in (0, 16) and text[:2] in ("0x", "0X"):
        text, radix = text[2:], 16
    radix = radix or 10  # 0 or missing: 10 (so `['1', '2'].map(parseInt)` reads '1' as JavaScript does)
    end = 0
    while end < len(text) and text[end].isascii() and text[end].isalnum() and int(text[end], 36) < radix:
        end += 1
    return number(sign * int(text[:end], radix)) if end else math.nan


def _parse_float(args: list[Any]) -> Any:
    m = re.match(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", to_string(_arg(args, 0)).strip())
    return number(float(m.group(0))) if m else math.nan


def own_entries(v: Any) -> list[tuple[str, Any]]:
    """An object's own enumerable properties as JavaScript lists them: arrays and strings by index."""
    if isinstance(v, dict):
        expr_budget.charge(len(v))
        return list(v.items())
    if isinstance(v, list | str):
        expr_budget.charge(len(v))
        return [(str(i), x) for i, x in enumerate(v) if x is not HOLE]
    if nullish(v):
        raise ExpressionError("cannot convert undefined or null to object")
    return []


def _same_value(a: Any, b: Any) -> bool:
    """Object.is: like === except NaN is itself and 0 is not -0."""
    if _is_number(a) and _is_number(b):
        if a != a and b != b:
            return True
        return bool(a == b) and math.copysign(1, a) == math.copysign(1, b)
    return strict_equal(a, b)


def _from_entries(args: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    entries = _arg(args, 0)
    if not isinstance(entries, list):
        raise ExpressionError("Object.fromEntries needs an array of [key, value] pairs")
    expr_budget.charge(len(entries))
    for entry in entries:
        if not isinstance(entry, list):
            raise ExpressionError(f"iterator value {to_string(entry)} is not an entry object")
        out[to_string(_arg(entry, 0))] = _arg(entry, 1)
    return out


def _object_assign(args: list[Any]) -> Any:
    target = _arg(args, 0)
    if not isinstance(target, dict):
        raise ExpressionError("Object.assign needs an object")
    for source in args[1:]:
        if not nullish(source):
            target.update(own_entries(source))
    return target


def _is_nan(args: list[Any]) -> bool:
    x = to_number(_arg(args, 0))
    return isinstance(x, float) and math.isnan(x)


def _is_finite(args: list[Any]) -> bool:
    x = to_number(_arg(args, 0))
    return not (isinstance(x, float) and (math.isnan(x) or math.isinf(x)))


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _is_integer(args: list[Any]) -> bool:
    v = _arg(args, 0)
    return _is_number(v) and _is_finite([v]) and float(v).is_integer()


NUMBER = Fn("Number", lambda a: number(to_number(_arg(a, 0))) if a else 0, {
    "isInteger": Fn("isInteger", _is_integer),
    "isSafeInteger": Fn("isSafeInteger", lambda a: _is_integer(a) and abs(a[0]) <= 2**53 - 1),
    "isFinite": Fn("isFinite", lambda a: _is_number(_arg(a, 0)) and _is_finite(a)),
    "isNaN": Fn("isNaN", lambda a: _is_number(_arg(a, 0)) and _is_nan(a)),
    "parseFloat": Fn("parseFloat", _parse_float), "parseInt": Fn("parseInt", _parse_int),
    "MAX_SAFE_INTEGER": 2**53 - 1, "MIN_SAFE_INTEGER": -(2**53 - 1), "EPSILON": 2.0**-52,
    "POSITIVE_INFINITY": math.inf, "NEGATIVE_INFINITY": -math.inf, "NaN": math.nan,
})


def _json_parse(args: list[Any]) -> Any:
    return from_json(_arg(args, 0))


GLOBALS: dict[str, Any] = {
    "JSON": Namespace("JSON", {"stringify": _fn("stringify", lambda a: stringify(_arg(a, 0), _arg(a, 2))),
                               "parse": _fn("parse", _json_parse)}),
    "Math": MATH,
    "Object": Namespace("Object", {
        "keys": _fn("keys", lambda a: [k for k, _ in own_entries(_arg(a, 0))]),
        "values": _fn("values", lambda a: [v for _, v in own_entries(_arg(a, 0))]),
        "entries": _fn("entries", lambda a: [[k, v] for k, v in own_entries(_arg(a, 0))]),
        "assign": _fn("assign", _object_assign),
        "fromEntries": _fn("fromEntries", _from_entries),
        "is": _fn("is", lambda a: _same_value(_arg(a, 0), _arg(a, 1))),
    }),
    "String": _fn("String", lambda a: to_string(_arg(a, 0)) if a else ""),
    "Number": NUMBER,
    "Boolean": _fn("Boolean", lambda a: truthy(_arg(a, 0))),
    "parseInt": _fn("parseInt", _parse_int),
    "parseFloat": _fn("parseFloat", _parse_float),
    "isNaN": _fn("isNaN", _is_nan),
    "isFinite": _fn("isFinite", _is_finite),
    "encodeURIComponent": _fn("encodeURIComponent",
                              lambda a: urllib.parse.quote(to_string(_arg(a, 0)), safe="-_.!~*'()")),
    "decodeURIComponent": _fn("decodeURIComponent", lambda a: urllib.parse.unquote(to_string(_arg(a, 0)))),
    "NaN": math.nan,
    "Infinity": math.inf,
}


# -- methods on numbers, booleans and plain objects --------------------------------------------------


def _to_fixed(x: int | float, args: list[Any]) -> str:
    digits = integer(_arg(args, 0))
    if not 0 <= digits <= 100:
        raise ExpressionError("toFixed() digits argument must be between 0 and 100")
    if not _is_finite([x]) or abs(x) >= 1e21:
        return num_to_string(x)
    # The exact binary value, a tie rounded away from zero: JavaScript picks "the larger n" of |x|.
    exact = Decimal(x).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP, context=Context(prec=200))
    text = f"{exact:f}"
    return text.lstrip("-") if x == 0 else text  # -0 prints as 0; -0.0001 rounds to "-0.00" as in JavaScript


def _to_radix(x: int | float, args: list[Any]) -> str:
    radix = 10 if _arg(args, 0) is UNDEFINED else integer(_arg(args, 0))
    if not 2 <= radix <= 36:
        raise ExpressionError("toString() radix must be between 2 and 36")
    if radix == 10 or not (isinstance(x, int) or float(x).is_integer()) or not _is_finite([x]):
        return num_to_string(x)  # fractions in other bases are left in base 10
    n, digits = abs(int(x)), ""
    while True:
        n, d = divmod(n, radix)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[d] + digits
        if n == 0:
            break
    return ("-" if x < 0 else "") + digits


def number_member(x: int | float, key: str) -> Any:
    methods: dict[str, Any] = {
        "toFixed": lambda a: _to_fixed(x, a),
        "toString": lambda a: _to_radix(x, a),
        "valueOf": lambda a: x,
    }
    impl = methods.get(key)
    return _fn(key, impl) if impl is not None else UNDEFINED


def bool_member(b: bool, key: str) -> Any:
    if key == "toString":
        return _fn(key, lambda a: "true" if b else "false")
    return UNDEFINED


def object_method(obj: dict[str, Any], key: str) -> Any:
    if key == "hasOwnProperty":
        return _fn(key, lambda a: to_string(_arg(a, 0)) in obj)
    if key == "toString":
        return _fn(key, lambda a: "[object Object]")
    return UNDEFINED
