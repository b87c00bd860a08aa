"""The globals and methods expressions may call: JSON, Math, string/array/number methods, dates. No I/O, no clock."""

from __future__ import annotations

import math
import re
import urllib.parse
from typing import Any

from core.workflows.errors import ExpressionError
from core.workflows.expr_values import (
    UNDEFINED,
    Fn,
    JsObject,
    from_json,
    nullish,
    number,
    num_to_string,
    stringify,
    strict_equal,
    to_number,
    to_string,
    truthy,
)

MAX_STRING = 10_000_000


def _arg(args: list[Any], i: int) -> Any:
    return args[i] if i < len(args) else UNDEFINED


def _fn(name: str, impl: Any) -> Fn:
    return Fn(name, impl)


class Namespace(JsObject):
    def __init__(self, name: str, members: dict[str, Any]) -> None:
        self.name = name
        self.members = members

    def get(self, key: str) -> Any:
        return self.members.get(key, UNDEFINED)


def _math(name: str, impl: Any) -> Fn:
    return _fn(name, lambda a: number(impl(*[to_number(x) for x in a])))


def _safe(impl: Any) -> Any:
    def run(*xs: float) -> float:
        try:
            return float(impl(*xs))
        except (ValueError, OverflowError):
            return math.nan
    return run


def _round(x: float) -> float:
    return math.floor(x + 0.5) if not (math.isnan(x) or math.isinf(x)) else x


def _minmax(pick: Any, empty: float) -> Any:
    def run(*xs: float) -> float:
        if any(isinstance(x, float) and math.isnan(x) for x in xs):
            return math.nan
        return pick(xs) if xs else empty
    return run


MATH = Namespace("Math", {
    "round": _math("round", _safe(_round)), "floor": _math("floor", _safe(math.floor)),
    "ceil": _math("ceil", _safe(math.ceil)), "abs": _math("abs", _safe(abs)), "trunc": _math("trunc", _safe(math.trunc)),
    "sqrt": _math("sqrt", _safe(math.sqrt)), "pow": _math("pow", _safe(math.pow)),
    "min": _math("min", _minmax(min, math.inf)), "max": _math("max", _minmax(max, -math.inf)),
    "sign": _math("sign", _safe(lambda x: (x > 0) - (x < 0))), "log": _math("log", _safe(math.log)),
    "PI": math.pi, "E": math.e,
})


def _parse_int(args: list[Any]) -> Any:
    text = to_string(_arg(args, 0)).strip()
    base = int(to_number(_arg(args, 1))) if _arg(args, 1) is not UNDEFINED else 10
    m = re.match(r"^[+-]?(0x)?[0-9a-zA-Z]+", text)
    if not m:
        return math.nan
    digits = m.group(0)
    if m.group(1):
        base, digits = 16, digits.replace("0x", "", 1)
    valid = ""
    for c in digits.lstrip("+-"):
        if not c.isdigit() and not c.isalpha() or int(c, 36) >= base:
            break
        valid += c
    if not valid:
        return math.nan
    return -int(valid, base) if digits.startswith("-") else int(valid, base)


def _parse_float(args: list[Any]) -> Any:
    m = re.match(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", to_string(_arg(args, 0)).strip())
    return number(float(m.group(0))) if m else math.nan


def _keys(v: Any) -> list[Any]:
    if isinstance(v, dict):
        return list(v)
    if isinstance(v, list | str):
        return [str(i) for i in range(len(v))]
    return []


def _object_assign(args: list[Any]) -> Any:
    target = _arg(args, 0)
    if not isinstance(target, dict):
        raise ExpressionError("Object.assign needs an object")
    for source in args[1:]:
        if isinstance(source, dict):
            target.update(source)
    return target


def _is_nan(args: list[Any]) -> bool:
    x = to_number(_arg(args, 0))
    return isinstance(x, float) and math.isnan(x)


def _json_parse(args: list[Any]) -> Any:
    return from_json(_arg(args, 0))


GLOBALS: dict[str, Any] = {
    "JSON": Namespace("JSON", {"stringify": _fn("stringify", lambda a: stringify(_arg(a, 0), _arg(a, 2))),
                               "parse": _fn("parse", _json_parse)}),
    "Math": MATH,
    "Object": Namespace("Object", {
        "keys": _fn("keys", lambda a: _keys(_arg(a, 0))),
        "values": _fn("values", lambda a: list(_arg(a, 0).values()) if isinstance(_arg(a, 0), dict) else []),
        "entries": _fn("entries", lambda a: [[k, v] for k, v in _arg(a, 0).items()] if isinstance(_arg(a, 0), dict) else []),
        "assign": _fn("assign", _object_assign),
    }),
    "Array": Namespace("Array", {"isArray": _fn("isArray", lambda a: isinstance(_arg(a, 0), list))}),
    "String": _fn("String", lambda a: to_string(_arg(a, 0)) if a else ""),
    "Number": _fn("Number", lambda a: number(to_number(_arg(a, 0))) if a else 0),
    "Boolean": _fn("Boolean", lambda a: truthy(_arg(a, 0))),
    "parseInt": _fn("parseInt", _parse_int),
    "parseFloat": _fn("parseFloat", _parse_float),
    "isNaN": _fn("isNaN", _is_nan),
    "encodeURIComponent": _fn("encodeURIComponent",
                              lambda a: urllib.parse.quote(to_string(_arg(a, 0)), safe="-_.!~*'()")),
    "decodeURIComponent": _fn("decodeURIComponent", lambda a: urllib.parse.unquote(to_string(_arg(a, 0)))),
    "NaN": math.nan,
    "Infinity": math.inf,
}


# -- methods on values -----------------------------------------------------------------------------------


def _cap(text: str) -> str:
    if len(text) > MAX_STRING:
        raise ExpressionError(f"string longer than {MAX_STRING} characters")
    return text


def _slice_bounds(length: int, args: list[Any]) -> tuple[int, int]:
    def pos(v: Any, default: int) -> int:
        if v is UNDEFINED:
            return default
        x = to_number(v)
        if isinstance(x, float) and math.isnan(x):
            return 0
        i = int(max(min(x, length), -length - 1)) if not math.isinf(x) else (length if x > 0 else 0)
        return max(length + i, 0) if i < 0 else min(i, length)
    return pos(_arg(args, 0), 0), pos(_arg(args, 1), length)


def _replace(text: str, args: list[Any], every: bool) -> str:
    pattern, replacement = to_string(_arg(args, 0)), to_string(_arg(args, 1))
    return _cap(text.replace(pattern, replacement) if every else text.replace(pattern, replacement, 1))


def _split(text: str, args: list[Any]) -> list[str]:
    sep = _arg(args, 0)
    if sep is UNDEFINED:
        return [text]
    sep = to_string(sep)
    parts = list(text) if sep == "" else text.split(sep)
    limit = _arg(args, 1)
    return parts[:int(to_number(limit))] if limit is not UNDEFINED else parts


def _substring(text: str, args: list[Any]) -> str:
    def clamp(v: Any, default: int) -> int:
        if v is UNDEFINED:
            return default
        x = to_number(v)
        return 0 if isinstance(x, float) and math.isnan(x) else int(max(0, min(x, len(text))))
    a, b = clamp(_arg(args, 0), 0), clamp(_arg(args, 1), len(text))
    return text[min(a, b):max(a, b)]


def _pad(text: str, args: list[Any], start: bool) -> str:
    width = int(to_number(_arg(args, 0)))
    fill = to_string(_arg(args, 1)) if _arg(args, 1) is not UNDEFINED else " "
    if width <= len(text) or not fill or width > MAX_STRING:
        return text
    pad = (fill * (width // len(fill) + 1))[:width - len(text)]
    return pad + text if start else text + pad


def string_member(text: str, key: str) -> Any:
    if key == "length":
        return len(text)
    methods: dict[str, Any] = {
        "toLowerCase": lambda a: text.lower(), "toUpperCase": lambda a: text.upper(),
        "trim": lambda a: text.strip(), "trimStart": lambda a: text.lstrip(), "trimEnd": lambda a: text.rstrip(),
        "includes": lambda a: to_string(_arg(a, 0)) in text,
        "startsWith": lambda a: text.startswith(to_string(_arg(a, 0))),
        "endsWith": lambda a: text.endswith(to_string(_arg(a, 0))),
        "indexOf": lambda a: text.find(to_string(_arg(a, 0))),
        "lastIndexOf": lambda a: text.rfind(to_string(_arg(a, 0))),
        "split": lambda a: _split(text, a),
        "replace": lambda a: _replace(text, a, False), "replaceAll": lambda a: _replace(text, a, True),
        "slice": lambda a: text[slice(*_slice_bounds(len(text), a))],
        "substring": lambda a: _substring(text, a),
        "charAt": lambda a: text[int(to_number(_arg(a, 0)) or 0)] if 0 <= int(to_number(_arg(a, 0)) or 0) < len(text) else "",
        "concat": lambda a: _cap(text + "".join(to_string(x) for x in a)),
        "repeat": lambda a: _cap(text * max(0, min(int(to_number(_arg(a, 0))), MAX_STRING))),
        "padStart": lambda a: _pad(text, a, True), "padEnd": lambda a: _pad(text, a, False),
        "toString": lambda a: text, "valueOf": lambda a: text,
    }
    impl = methods.get(key)
    return _fn(key, impl) if impl is not None else UNDEFINED


def _call(fn: Any, *args: Any) -> Any:
    if not isinstance(fn, Fn):
        raise ExpressionError("expected a function (an arrow function such as `x => x.id`)")
    return fn(list(args))


def _join(items: list[Any], args: list[Any]) -> str:
    sep = to_string(_arg(args, 0)) if _arg(args, 0) is not UNDEFINED else ","
    return _cap(sep.join("" if nullish(x) else to_string(x) for x in items))


def _index_of(items: list[Any], value: Any) -> int:
    for i, x in enumerate(items):
        if strict_equal(x, value):
            return i
    return -1


def array_member(items: list[Any], key: str) -> Any:
    if key == "length":
        return len(items)
    methods: dict[str, Any] = {
        "join": lambda a: _join(items, a),
        "includes": lambda a: _index_of(items, _arg(a, 0)) >= 0,
        "indexOf": lambda a: _index_of(items, _arg(a, 0)),
        "slice": lambda a: items[slice(*_slice_bounds(len(items), a))],
        "concat": lambda a: items + [y for x in a for y in (x if isinstance(x, list) else [x])],
        "map": lambda a: [_call(_arg(a, 0), x, i) for i, x in enumerate(items)],
        "filter": lambda a: [x for i, x in enumerate(items) if truthy(_call(_arg(a, 0), x, i))],
        "find": lambda a: next((x for i, x in enumerate(items) if truthy(_call(_arg(a, 0), x, i))), UNDEFINED),
        "some": lambda a: any(truthy(_call(_arg(a, 0), x, i)) for i, x in enumerate(items)),
        "every": lambda a: all(truthy(_call(_arg(a, 0), x, i)) for i, x in enumerate(items)),
        "reverse": lambda a: list(reversed(items)),
        "first": lambda a: items[0] if items else UNDEFINED,
        "last": lambda a: items[-1] if items else UNDEFINED,
        "toString": lambda a: _join(items, []),
    }
    impl = methods.get(key)
    return _fn(key, impl) if impl is not None else UNDEFINED


def _to_fixed(x: int | float, args: list[Any]) -> str:
    digits = int(to_number(_arg(args, 0))) if _arg(args, 0) is not UNDEFINED else 0
    if not 0 <= digits <= 100:
        raise ExpressionError("toFixed() digits argument must be between 0 and 100")
    return f"{x:.{digits}f}"


def number_member(x: int | float, key: str) -> Any:
    methods: dict[str, Any] = {
        "toFixed": lambda a: _to_fixed(x, a),
        "toString": lambda a: num_to_string(x),
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
