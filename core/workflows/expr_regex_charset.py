"""JavaScript regex character sets as code point ranges, written out for Python's `re` or for RE2."""

from __future__ import annotations

from collections.abc import Iterable

Ranges = tuple[tuple[int, int], ...]
TOP = 0x10FFFF
RE = "re"
RE2 = "re2"


def merge(spans: Iterable[tuple[int, int]]) -> Ranges:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(spans):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return tuple(out)


def complement(ranges: Ranges) -> Ranges:
    out, nxt = [], 0
    for lo, hi in ranges:
        if lo > nxt:
            out.append((nxt, lo - 1))
        nxt = hi + 1
    if nxt <= TOP:
        out.append((nxt, TOP))
    return tuple(out)


DIGIT = merge([(0x30, 0x39)])
WORD = merge([(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)])
# JavaScript's \s: WhiteSpace and LineTerminator. Python's \s differs (it has \x1c-\x1f and \x85, lacks \ufeff),
# RE2's is ASCII without \v: both are spelt out.
SPACE = merge([(0x09, 0x0D), (0x20, 0x20), (0xA0, 0xA0), (0x1680, 0x1680), (0x2000, 0x200A), (0x2028, 0x2029),
               (0x202F, 0x202F), (0x205F, 0x205F), (0x3000, 0x3000), (0xFEFF, 0xFEFF)])
LINE_ENDS = (0x0A, 0x0D, 0x2028, 0x2029)
LINE_END = merge((c, c) for c in LINE_ENDS)
# The class escapes with JavaScript's (ASCII) meaning, in and out of classes alike.
ESCAPES = {"d": DIGIT, "D": complement(DIGIT), "w": WORD, "W": complement(WORD), "s": SPACE, "S": complement(SPACE)}


def case_keys(ranges: Ranges) -> Ranges:
    """The set's characters as the first letters of their case folds (`S`, `s` and `ſ` all give `s`): two sets
    that share no key share no character under the i flag. A large set gives everything."""
    if sum(hi - lo + 1 for lo, hi in ranges) > 512:
        return ((0, TOP),)
    return merge((k, k) for lo, hi in ranges for k in (ord(chr(cp).casefold()[0]) for cp in range(lo, hi + 1)))


def line_ends_in(ranges: Ranges) -> int:
    """How many of JavaScript's four line terminators the set holds."""
    return sum(1 for c in LINE_ENDS if any(lo <= c <= hi for lo, hi in ranges))


def literal(cp: int, engine: str) -> str:
    """One code point as a literal: letters and digits as they are, anything else as a hex escape (which both
    engines read the same inside and outside classes, and which keeps RE2's pattern valid UTF-8)."""
    c = chr(cp)
    if c.isascii() and (c.isalnum() or c == "_"):
        return c
    return f"\\x{{{cp:x}}}" if engine == RE2 else f"\\U{cp:08x}"


def render(ranges: Ranges, engine: str, negated: bool = False) -> str:
    """A class matching the set (or, negated, what is outside it: the engine negates after case folding, as
    JavaScript does, so `[^a]` with the i flag refuses `A` too)."""
    if not ranges:
        ranges, negated = ((0, TOP),), not negated
    body = "".join(literal(lo, engine) if lo == hi else f"{literal(lo, engine)}-{literal(hi, engine)}"
                   for lo, hi in ranges)
    return f"[{'^' if negated else ''}{body}]"
