"""String methods with JavaScript's semantics (the ones taking patterns live in expr_string_regex)."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any

from core.workflows import expr_string_regex as patterns
from core.workflows.errors import ExpressionError
from core.workflows.expr_args import arg, cap, integer, relative, reserve, slice_bounds
from core.workflows.expr_values import UNDEFINED, Fn, to_string

Method = Callable[[str, list[Any]], Any]


def _substring(text: str, args: list[Any]) -> str:
    a = max(0, min(integer(arg(args, 0)), len(text)))
    b = max(0, min(integer(arg(args, 1), len(text)), len(text)))
    return text[min(a, b):max(a, b)]


def _substr(text: str, args: list[Any]) -> str:
    start = relative(arg(args, 0), len(text), 0)
    length = integer(arg(args, 1), len(text) - start)
    return text[start:start + max(length, 0)]


def _pad(start: bool) -> Method:
    def pad(text: str, args: list[Any]) -> str:
        width = integer(arg(args, 0))
        fill = to_string(arg(args, 1)) if arg(args, 1) is not UNDEFINED else " "
        if width <= len(text) or not fill:
            return text
        reserve(width)
        padding = (fill * (width // len(fill) + 1))[:width - len(text)]
        return padding + text if start else text + padding
    return pad


def _char_at(text: str, args: list[Any]) -> str:
    i = integer(arg(args, 0))
    return text[i] if 0 <= i < len(text) else ""


def _char_code_at(text: str, args: list[Any]) -> Any:
    i = integer(arg(args, 0))
    return ord(text[i]) if 0 <= i < len(text) else float("nan")


def _at(text: str, args: list[Any]) -> Any:
    i = integer(arg(args, 0))
    i = len(text) + i if i < 0 else i
    return text[i] if 0 <= i < len(text) else UNDEFINED


def _index_of(text: str, args: list[Any]) -> int:
    return text.find(to_string(arg(args, 0)), max(0, min(integer(arg(args, 1)), len(text))))


def _last_index_of(text: str, args: list[Any]) -> int:
    needle = to_string(arg(args, 0))
    end = len(text) if arg(args, 1) is UNDEFINED else max(0, integer(arg(args, 1)))
    return text.rfind(needle, 0, min(end, len(text)) + len(needle))


def _starts_with(text: str, args: list[Any]) -> bool:
    return text.startswith(to_string(arg(args, 0)), max(0, min(integer(arg(args, 1)), len(text))))


def _ends_with(text: str, args: list[Any]) -> bool:
    end = len(text) if arg(args, 1) is UNDEFINED else max(0, min(integer(arg(args, 1)), len(text)))
    return text[:end].endswith(to_string(arg(args, 0)))


def _collation_key(text: str) -> tuple[str, str, str]:
    # An approximation of ICU's root collation, which JavaScript's localeCompare uses: letters first compare
    # without accents or case, then accents, then case (lower before upper).
    decomposed = unicodedata.normalize("NFD", text)
    base = "".join(c for c in decomposed if not unicodedata.combining(c))
    return base.casefold(), decomposed.casefold(), text.swapcase()


def _locale_compare(text: str, args: list[Any]) -> int:
    a, b = _collation_key(text), _collation_key(to_string(arg(args, 0)))
    return (a > b) - (a < b)


def _normalize(text: str, args: list[Any]) -> str:
    form = "NFC" if arg(args, 0) is UNDEFINED else to_string(arg(args, 0))
    if form not in ("NFC", "NFD", "NFKC", "NFKD"):
        raise ExpressionError(f"the normalization form should be one of NFC, NFD, NFKC, NFKD (got {form!r})")
    return unicodedata.normalize(form, text)  # type: ignore[arg-type]


def _repeat(text: str, args: list[Any]) -> str:
    count = integer(arg(args, 0))
    if count < 0 or count >= 2**53:
        raise ExpressionError(f"invalid count value: {to_string(arg(args, 0))}")
    reserve(len(text) * count)
    return text * count


def _at_code(text: str, args: list[Any]) -> Any:
    i = integer(arg(args, 0))
    return ord(text[i]) if 0 <= i < len(text) else UNDEFINED


_METHODS: dict[str, Method] = {
    "toLowerCase": lambda t, a: t.lower(), "toUpperCase": lambda t, a: t.upper(),
    "toLocaleLowerCase": lambda t, a: t.lower(), "toLocaleUpperCase": lambda t, a: t.upper(),
    "trim": lambda t, a: t.strip(), "trimStart": lambda t, a: t.lstrip(), "trimEnd": lambda t, a: t.rstrip(),
    "includes": lambda t, a: t.find(to_string(arg(a, 0)), max(0, integer(arg(a, 1)))) >= 0,
    "startsWith": _starts_with, "endsWith": _ends_with, "indexOf": _index_of, "lastIndexOf": _last_index_of,
    "split": patterns.split, "match": patterns.match, "matchAll": patterns.match_all, "search": patterns.search,
    "replace": lambda t, a: patterns.replace(t, a, False), "replaceAll": lambda t, a: patterns.replace(t, a, True),
    "slice": lambda t, a: t[slice(*slice_bounds(len(t), a))], "substring": _substring, "substr": _substr,
    "charAt": _char_at, "charCodeAt": _char_code_at, "codePointAt": _at_code, "at": _at,
    "concat": lambda t, a: cap(t + "".join(to_string(x) for x in a)),
    "repeat": _repeat,
    "padStart": _pad(True), "padEnd": _pad(False), "localeCompare": _locale_compare, "normalize": _normalize,
    "toString": lambda t, a: t, "valueOf": lambda t, a: t,
}


def string_member(text: str, key: str) -> Any:
    if key == "length":
        return len(text)
    impl = _METHODS.get(key)
    if impl is None:
        return UNDEFINED
    return Fn(key, lambda args: impl(text, args))
