"""The shape of a regex (a small tree the translator builds) and what it may cost: the longest text it can match,
and for Python's backtracking `re` whether it can take exponential time and how long a text keeps it bounded."""

from __future__ import annotations

import math
from dataclasses import dataclass

from core.workflows.expr_regex_charset import TOP, Ranges, merge

INF = math.inf
# Backtracking steps one search may take on the fallback engine: about 0.2 s of Python's `re` here
# (`(?=\s)\s+$` on 10,000 spaces, the worst quadratic case, takes 0.22 s).
STEP_BUDGET = 50_000_000
# Atoms one attempt may step through before the pattern's size counts against the text's length.
FREE_SIZE = 8


@dataclass(frozen=True, slots=True)
class Node:
    """atom (a character or class), anchor (^ $ \\b \\B), backref, look (look-around), seq, alt, repeat."""

    kind: str
    parts: tuple[Node, ...] = ()
    lo: int = 1
    hi: float = 1
    at_start: bool = False  # an anchor that holds only where the text starts (^ without the m flag)
    chars: Ranges = ((0, TOP),)  # an atom: what it can match, case variants included

    @property
    def quantifiable(self) -> bool:
        return self.kind not in ("anchor", "repeat")


BACKREF = Node("backref")


def first(node: Node) -> tuple[Ranges, bool]:
    """The characters a match of the node can start with, and whether it can match the empty text."""
    if node.kind == "atom":
        return node.chars, False
    if node.kind == "backref":
        return ((0, TOP),), True
    if node.kind == "seq":
        seen: list[tuple[int, int]] = []
        for part in node.parts:
            chars, empty = first(part)
            seen.extend(chars)
            if not empty:
                return merge(seen), False
        return merge(seen), True
    if node.kind == "alt":
        starts = [first(p) for p in node.parts]
        return merge(r for chars, _ in starts for r in chars), any(empty for _, empty in starts) or not starts
    if node.kind == "repeat":
        chars, empty = first(node.parts[0])
        return chars, empty or node.lo == 0
    return (), True  # anchors and look-arounds


def _overlap(a: Ranges, b: Ranges) -> bool:
    return any(lo <= hi2 and lo2 <= hi for lo, hi in a for lo2, hi2 in b)


def _told_apart(node: Node) -> bool:
    """Alternatives that each match one way and that their first character tells apart (`(?:[^"\\]|\\.)`):
    repeating them backtracks no more than repeating one character does."""
    if node.kind in ("seq", "alt") and len(node.parts) == 1:
        return _told_apart(node.parts[0])
    if node.kind != "alt":
        return False
    starts = []
    for part in node.parts:
        c = cost(part, True)
        chars, empty = first(part)
        if empty or c.branch or c.ways > 1 or c.exponential:
            return False
        starts.append(chars)
    return not any(_overlap(a, b) for i, a in enumerate(starts) for b in starts[i + 1:])


def width(node: Node) -> float:
    """The most characters the node can match (INF when unbounded)."""
    if node.kind == "atom":
        return 1
    if node.kind == "backref":
        return INF
    if node.kind == "seq":
        return sum((width(p) for p in node.parts), 0.0)
    if node.kind == "alt":
        return max((width(p) for p in node.parts), default=0.0)
    if node.kind == "repeat":
        inner = width(node.parts[0])
        return 0.0 if inner == 0 or node.hi == 0 else inner * node.hi
    return 0.0  # anchors and look-arounds match no characters


def always(node: Node) -> bool:
    """Whether the node matches wherever it is tried (at worst the empty text): what follows it then never fails
    because of it, so a backtracking engine never returns into what comes before."""
    if node.kind == "seq":
        return all(always(p) for p in node.parts)
    if node.kind == "alt":
        return any(always(p) for p in node.parts)
    if node.kind == "repeat":
        return node.lo == 0 or always(node.parts[0])
    return False


def anchored(node: Node) -> bool:
    if node.kind == "anchor":
        return node.at_start
    if node.kind == "seq":
        return bool(node.parts) and anchored(node.parts[0])
    if node.kind == "alt":
        return bool(node.parts) and all(anchored(p) for p in node.parts)
    if node.kind == "repeat":
        return node.lo >= 1 and anchored(node.parts[0])
    return False


@dataclass(frozen=True, slots=True)
class Cost:
    work: int  # degree of the polynomial (in the text's length) one arrival at the node may cost
    branch: int  # degree of the number of ways it can succeed that a failure after it makes the engine try
    ways: float  # constant factor (alternatives, optional parts, counted repeats)
    exponential: bool  # a repeat over something that can match in more than one way


_NONE = Cost(0, 0, 1, False)


def cost(node: Node, fallible: bool) -> Cost:
    """The backtracking cost of `node`, `fallible` telling whether what follows it can fail."""
    if node.kind == "look":
        inner = cost(node.parts[0], False)  # a look-around stops at its first success and is not re-entered
        return Cost(inner.work, 0, inner.ways, inner.exponential)
    if node.kind == "seq":
        return _sequence(node.parts, fallible)
    if node.kind == "alt":
        costs = [cost(p, fallible) for p in node.parts] or [_NONE]
        return Cost(max(c.work for c in costs), max(c.branch for c in costs), sum(c.ways for c in costs),
                    any(c.exponential for c in costs))
    if node.kind == "repeat":
        return _repeat(node, fallible)
    return _NONE


def _sequence(parts: tuple[Node, ...], fallible: bool) -> Cost:
    after, follows = [], fallible
    for part in reversed(parts):
        after.append(follows)
        follows = follows or not always(part)
    work = branch = 0
    ways, exponential = 1.0, False
    for part, part_fallible in zip(parts, reversed(after), strict=True):
        c = cost(part, part_fallible)
        work = max(work, branch + c.work)
        branch += c.branch
        ways = min(ways * c.ways, INF)
        exponential = exponential or c.exponential
    return Cost(work, branch, ways, exponential)


def _repeat(node: Node, fallible: bool) -> Cost:
    inner = cost(node.parts[0], True)  # each round is followed by another round or by the rest
    if width(node.parts[0]) == 0:  # rounds that match nothing (`(?:\b)*`): no more than one of them
        return Cost(inner.work, 0, inner.ways, inner.exponential)
    if node.hi == INF:
        choices = inner.branch > 0 or (inner.ways > 1 and not _told_apart(node.parts[0]))
        return Cost(inner.work + 1, 1 if fallible else 0, inner.ways if choices else 1.0,
                    inner.exponential or choices)
    hi = int(node.hi)
    if hi == 0:
        return _NONE
    rounds = inner.ways ** hi if hi * math.log2(max(inner.ways, 1.0)) < 1000 else INF
    return Cost(inner.work + (hi - 1) * inner.branch, hi * inner.branch if fallible else 0,
                min(rounds * (hi - node.lo + 1), INF), inner.exponential)


def size(node: Node) -> float:
    """Atoms one attempt steps through, counted repeats unrolled."""
    if node.kind in ("seq", "alt"):
        return sum((size(p) for p in node.parts), 0.0)
    if node.kind == "look":
        return size(node.parts[0])
    if node.kind == "repeat":
        return size(node.parts[0]) * max(1.0, node.hi if node.hi != INF else 1.0)
    return 1.0


def exponential(root: Node) -> bool:
    return cost(root, False).exponential


def fallback_limit(root: Node, most: int) -> int:
    """The longest text (at most `most`) on which backtracking over `root` stays within STEP_BUDGET: a search
    tries each start, and each unbounded repeat that a later failure can return into multiplies by the length."""
    c = cost(root, False)
    degree = c.work + (0 if anchored(root) or always(root) else 1)
    factor = c.ways * max(1.0, size(root) / FREE_SIZE)

    def fits(n: int) -> bool:  # factor * C(n + degree - 1, degree) <= STEP_BUDGET, in logarithms (no overflow)
        if n == 0 or factor == 0:
            return True
        paths = math.lgamma(n + degree) - math.lgamma(degree + 1) - math.lgamma(n) if degree else 0.0
        return math.log(factor) + paths <= math.log(STEP_BUDGET)

    if fits(most):
        return most
    lo, hi = 0, most  # fits(lo), not fits(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return lo
