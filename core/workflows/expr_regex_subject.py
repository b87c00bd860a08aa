"""One text a regex runs over: searched by RE2 (linear time) on its UTF-8 bytes, or by Python's `re`; matches come
back as character offsets and the captured texts."""

from __future__ import annotations

import functools
import re
import time
from array import array
from bisect import bisect_left
from dataclasses import dataclass
from itertools import accumulate
from typing import Any, Protocol

from core.workflows import expr_budget
from core.workflows.expr_regex_cost import INF

# What a search costs counts for the expression's data budget (expr_budget: 10,000,000 cells), so that all the
# regex work of one evaluation stays around half a second whatever its loops do:
# - the CPU time each search took, a cell per 50 ns. This is what bounds RE2 where its DFA gives up and it runs
#   its NFA (`/[ab]*a[ab]{1000}c|a/g` over 50,000 random a's and b's: 0.16 s a search, rescanning the rest of the
#   text each time) and the many short searches of `re`;
# - for RE2, at least the bytes it may have scanned, a cell per 40 (its DFA scans about a byte a nanosecond here),
#   so that a loop of searches that each rescan the rest of the text (`/a*b|/g` over 50,000 a's: 1.25e9 bytes)
#   stops the same way on any machine, while usual loops (`/\w+/g` over 50,000 characters: 2.3e8) pass.
NS_PER_CELL = 50
SCAN_BYTES_PER_CELL = 40


@dataclass(frozen=True, slots=True)
class Hit:
    start: int
    end: int
    groups: tuple[str | None, ...]  # the match, then each capture (None for a group that took no part)

    @property
    def matched(self) -> str:
        return self.groups[0] or ""


class Subject(Protocol):
    engine: str

    def search(self, pos: int) -> Hit | None:
        """The leftmost match at or after `pos`."""

    def match(self, pos: int) -> Hit | None:
        """A match starting exactly at `pos` (sticky)."""


class ReSubject:
    """The text for Python's backtracking `re` (patterns RE2 cannot run; the caller bounds the text's length)."""

    engine = "re"

    def __init__(self, compiled: re.Pattern[str], text: str) -> None:
        self.compiled = compiled
        self.text = text

    def search(self, pos: int) -> Hit | None:
        return self._run(self.compiled.search, pos)

    def match(self, pos: int) -> Hit | None:
        return self._run(self.compiled.match, pos)

    def _run(self, find: Any, pos: int) -> Hit | None:
        began = time.thread_time_ns()
        found = find(self.text, pos)
        expr_budget.charge((time.thread_time_ns() - began) // NS_PER_CELL)
        return None if found is None else Hit(found.start(), found.end(), (found.group(0), *found.groups()))


class Re2Subject:
    """The text as UTF-8 for RE2 (lone surrogates pass through, and RE2 reads them as the code points they are).
    `seen` is what RE2 searches, the same length as `text` (line ends may have been made \\n); matches are sliced
    from `text`."""

    engine = "re2"

    def __init__(self, regex: Any, groups: int, width: float, text: str, seen: str) -> None:
        self.regex = regex
        self.groups = groups
        self.width_bytes = width * 4
        self.text = text
        self.data, self.offsets = _encoded(seen)

    def search(self, pos: int) -> Hit | None:
        return self._run(self.regex.search, pos, anchored=False)

    def match(self, pos: int) -> Hit | None:
        return self._run(self.regex.match, pos, anchored=True)

    def _run(self, find: Any, pos: int, anchored: bool) -> Hit | None:
        offsets = self.offsets
        at = pos if offsets is None else offsets[pos]
        while True:
            began = time.thread_time_ns()
            found = find(self.data, at)
            spent = time.thread_time_ns() - began
            expr_budget.charge(max(spent // NS_PER_CELL, self._scanned(at, found, anchored) // SCAN_BYTES_PER_CELL))
            if found is None or offsets is None:
                break
            char = bisect_left(offsets, found.start())
            if offsets[char] == found.start():
                break
            # RE2 steps through bytes: an empty match (`\B`) can fall inside a character; search on from the next
            at = offsets[char]
        if found is None:
            return None
        spans = [found.span(g) for g in range(self.groups + 1)]
        if offsets is not None:
            spans = [(bisect_left(offsets, s), bisect_left(offsets, e)) if s >= 0 else (s, e) for s, e in spans]
        text = self.text
        return Hit(spans[0][0], spans[0][1], tuple(None if s < 0 else text[s:e] for s, e in spans))

    def _scanned(self, at: int, found: Any, anchored: bool) -> int:
        """The bytes RE2 may have read: it may scan on past a match (an alternative it prefers could still match
        further on), up to the text's end or as far as the longest match could reach from the match's start."""
        scanned = len(self.data) - at
        if self.width_bytes != INF and (found is not None or anchored):
            start = at if found is None else found.start()
            scanned = min(scanned, int(start - at + self.width_bytes) + 1)
        return scanned


@functools.lru_cache(maxsize=4)
def _encoded(text: str) -> tuple[bytes, array[int] | None]:
    """The text's UTF-8 bytes and, unless it is ASCII, where each character starts in them (one more at the end);
    cached, since loops and a node's items run many searches over the same text."""
    data = text.encode("utf-8", "surrogatepass")
    if len(data) == len(text):
        return data, None
    sizes = (1 if cp < 0x80 else 2 if cp < 0x800 else 3 if cp < 0x10000 else 4 for cp in map(ord, text))
    return data, array("q", accumulate(sizes, initial=0))
