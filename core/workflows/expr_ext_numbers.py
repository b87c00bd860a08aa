"""n8n's number and boolean extensions (`(1.256).round(2)`, `.format()`, `true.toNumber()` ...) and its generic
isEmpty/isNotEmpty for the values that have no extensions of their own (null, undefined)."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any

from core.workflows.errors import ExpressionError
from core.workflows.expr_args import arg
from core.workflows.expr_builtins import number_member
from core.workflows.expr_ext_common import Extension, bind, is_empty_value, timestamp_to_date, undefined
from core.workflows.expr_values import UNDEFINED, Fn, nullish, num_to_string, number, to_number


def _integer_or_fail(x: int | float, name: str) -> int:
    if isinstance(x, float) and not x.is_integer():  # NaN and the infinities are not integers either
        raise ExpressionError(f"{name}() is only callable on integers")
    return int(x)


def _round(x: int | float, args: list[Any]) -> Any:
    """`+value.toFixed(decimalPlaces)`: JavaScript's toFixed (ties away from zero on the exact value)."""
    digits = 0 if arg(args, 0) is UNDEFINED else arg(args, 0)
    to_fixed = number_member(x, "toFixed")
    assert isinstance(to_fixed, Fn)
    return number(to_number(to_fixed([digits])))


def _rounded(impl: Any) -> Extension:
    def run(x: int | float, args: list[Any]) -> Any:
        return x if isinstance(x, float) and not math.isfinite(x) else number(impl(x))
    return run


def _group(digits: str) -> str:
    head = len(digits) % 3 or 3
    return ",".join([digits[:head]] + [digits[i:i + 3] for i in range(head, len(digits), 3)])


_OPTIONS = {"minimumFractionDigits", "maximumFractionDigits", "useGrouping"}


def _format(x: int | float, args: list[Any]) -> str:
    """Intl.NumberFormat('en-US') as n8n calls it by default: grouped thousands, at most three decimals (ties
    away from zero on the shortest decimal form, as ICU rounds). Other locales and styles need Intl, which Hive
    does not carry: they are refused rather than formatted differently."""
    locale, config = arg(args, 0), arg(args, 1)
    if not nullish(locale) and locale not in ("en-US", "en"):
        raise ExpressionError(f"format(): Hive formats numbers for en-US only (got locale {locale!r})")
    options = config if isinstance(config, dict) else {}
    if set(options) - _OPTIONS:
        raise ExpressionError(f"format(): Hive supports only the options {sorted(_OPTIONS)}")
    if isinstance(x, float) and math.isnan(x):
        return "NaN"
    if isinstance(x, float) and math.isinf(x):
        return "∞" if x > 0 else "-∞"
    low = int(to_number(options.get("minimumFractionDigits", 0)))
    high = int(to_number(options.get("maximumFractionDigits", max(low, 3))))
    if not 0 <= low <= high <= 100:
        raise ExpressionError("format(): fraction digits out of range")
    exact = Decimal(num_to_string(x) if isinstance(x, int) else repr(float(x)))
    rounded = exact.quantize(Decimal(1).scaleb(-high), rounding=ROUND_HALF_UP, context=Context(prec=400))
    text = f"{abs(rounded):f}"
    whole, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0").ljust(low, "0")
    if options.get("useGrouping", True) is not False:
        whole = _group(whole)
    sign = "-" if rounded < 0 or (rounded == 0 and math.copysign(1, x) < 0) else ""
    return sign + whole + ("." + fraction if fraction else "")


def _is_integer(x: int | float, args: list[Any]) -> bool:
    return isinstance(x, int) or (math.isfinite(x) and x.is_integer())


NUMBER_EXTENSIONS: dict[str, Extension] = {
    "ceil": _rounded(math.ceil), "floor": _rounded(math.floor), "format": _format, "round": _round,
    "abs": lambda x, a: number(abs(x)), "isInteger": _is_integer,
    "isEven": lambda x, a: _integer_or_fail(x, "isEven") % 2 == 0,
    "isOdd": lambda x, a: abs(_integer_or_fail(x, "isOdd")) % 2 == 1,
    "toBoolean": lambda x, a: x != 0, "toInt": lambda x, a: _round(x, []), "toFloat": lambda x, a: x,
    "toDateTime": lambda x, a: timestamp_to_date(x, arg(a, 0)),
}

BOOLEAN_EXTENSIONS: dict[str, Extension] = {
    "toBoolean": lambda b, a: b, "toInt": lambda b, a: 1 if b else 0, "toFloat": lambda b, a: 1 if b else 0,
    "toNumber": lambda b, a: 1 if b else 0, "toDateTime": undefined,
}

GENERIC_EXTENSIONS: dict[str, Extension] = {
    "isEmpty": lambda v, a: is_empty_value(v), "isNotEmpty": lambda v, a: not is_empty_value(v),
}


def number_extension(x: int | float, key: str) -> Any:
    impl = NUMBER_EXTENSIONS.get(key) or GENERIC_EXTENSIONS.get(key)
    return UNDEFINED if impl is None else bind(key, impl, x)


def boolean_extension(b: bool, key: str) -> Any:
    impl = BOOLEAN_EXTENSIONS.get(key) or GENERIC_EXTENSIONS.get(key)
    return UNDEFINED if impl is None else bind(key, impl, b)


def generic_extension(value: Any, key: str) -> Any:
    """What null and undefined answer to: only isEmpty and isNotEmpty (n8n's generic extensions)."""
    impl = GENERIC_EXTENSIONS.get(key)
    return UNDEFINED if impl is None else bind(key, impl, value)
