"""Reading JavaScript regex escapes that stand for one character (`\\n`, `\\cJ`, `\\x0a`, `\\u000a`, `\\u{a}`),
and counting a pattern's capturing groups (a `\\2` is a backreference only when group 2 exists)."""

from __future__ import annotations

import re

from core.workflows.errors import ExpressionError
from core.workflows.expr_regex_charset import TOP

_CONTROL = {"t": 0x09, "n": 0x0A, "r": 0x0D, "v": 0x0B, "f": 0x0C, "0": 0x00}
_HEX = frozenset("0123456789abcdefABCDEF")


def bad(source: str, why: str) -> ExpressionError:
    return ExpressionError(f"invalid regular expression /{source}/: {why}")


def _is_hex(digits: str, width: int) -> bool:
    return len(digits) == width and all(d in _HEX for d in digits)


def char_escape(src: str, i: int, c: str, pairs: bool = False) -> tuple[int, int]:
    """The code point `\\c...` stands for (`c` read, `i` just after it) and where the pattern goes on; an escape
    that means nothing else is the character itself, as JavaScript reads it without the u flag. With `pairs`, a
    surrogate pair spelt as two escapes is the one character the text holds (unless a quantifier follows, which
    in JavaScript repeats the second half only)."""
    if c in _CONTROL:
        return _CONTROL[c], i
    if c == "c" and i < len(src) and src[i].isascii() and src[i].isalpha():
        return ord(src[i]) % 32, i + 1
    if c == "u" and src.startswith("{", i):
        end = src.find("}", i)
        digits = src[i + 1:end] if end > 0 else ""
        if not digits or not all(d in _HEX for d in digits) or int(digits, 16) > TOP:
            raise bad(src, "invalid \\u{...} escape")
        return int(digits, 16), end + 1
    if c not in "xu":
        return ord(c), i
    width = 2 if c == "x" else 4
    if not _is_hex(src[i:i + width], width):
        return ord(c), i  # JavaScript (without the u flag) reads a bad \x or \u as the letter
    cp, i = int(src[i:i + width], 16), i + width
    low = src[i + 2:i + 6]
    if (pairs and 0xD800 <= cp <= 0xDBFF and src.startswith("\\u", i) and _is_hex(low, 4)
            and 0xDC00 <= int(low, 16) <= 0xDFFF and src[i + 6:i + 7] not in ("*", "+", "?", "{")):
        return 0x10000 + ((cp - 0xD800) << 10) + (int(low, 16) - 0xDC00), i + 6
    return cp, i


def count_groups(source: str) -> int:
    count, i, in_class = 0, 0, False
    while i < len(source):
        c = source[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "(" and (not source.startswith("?", i + 1) or re.match(r"\?<[^=!]", source[i + 1:])):
            count += 1
        i += 1
    return count
