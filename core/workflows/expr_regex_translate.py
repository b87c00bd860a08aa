"""Translating a JavaScript regex into Python's `re` syntax and, unless it needs look-around or a backreference,
into RE2's, both with JavaScript's meaning of `.`, `^`, `$`, `\\d`, `\\w`, `\\s`, `\\b` and classes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from core.workflows.expr_regex_charset import (
    ESCAPES, LINE_END, LINE_ENDS, RE, RE2, Ranges, case_keys, complement, line_ends_in, literal, merge, render,
)
from core.workflows.expr_regex_cost import BACKREF, INF, Node
from core.workflows.expr_regex_escapes import bad, char_escape, count_groups

_BRACE = re.compile(r"\{(\d+)(,(\d*))?\}")


@dataclass(frozen=True)
class Translation:
    python: str
    re2: str | None  # None: RE2 cannot run it (look-around or a backreference)
    tree: Node
    line_anchors: bool  # a ^ or $ with the m flag: RE2 knows only \n as a line end
    lines_alike: bool  # every character and class treats \n, \r, \u2028 and \u2029 alike


@dataclass
class _Group:
    look: bool = False
    alternatives: list[list[Node]] = field(default_factory=lambda: [[]])

    def node(self) -> Node:
        return Node("alt", tuple(Node("seq", tuple(a)) for a in self.alternatives))


def translate(source: str, flags: str) -> Translation:
    return _Translator(source, flags).run()


class _Translator:
    def __init__(self, source: str, flags: str) -> None:
        self.src = source
        self.multiline = "m" in flags
        self.dotall = "s" in flags
        self.ignore_case = "i" in flags
        self.py: list[str] = []
        self.r2: list[str] = []
        self.i = 0
        self.groups = [_Group()]
        self.group_count = count_groups(source)
        self.backtracking_only = False
        self.line_anchors = False
        self.lines_alike = True

    def run(self) -> Translation:
        src = self.src
        while self.i < len(src):
            c = src[self.i]
            self.i += 1
            if c in "*+?{" and self.quantifier(c):
                continue
            if c == "\\":
                self.escape()
            elif c == "[":
                self.char_class()
            elif c == "(":
                self.open_group()
            elif c == ")":
                self.close_group()
            elif c == "|":
                self.groups[-1].alternatives.append([])
                self.emit("|", "|", None)
            elif c == ".":
                self.char_set(complement(()) if self.dotall else LINE_END, negated=not self.dotall)
            elif c == "^":
                self.line_anchor("(?<!{})", "(?m:^)", "^", "^")
            elif c == "$":
                self.line_anchor("(?!{})", "(?m:$)", "\\Z", "\\z")
            else:
                self.char(ord(c))
        if len(self.groups) != 1:
            raise bad(src, "missing ')'")
        tree = self.groups[0].node()
        return Translation("".join(self.py), None if self.backtracking_only else "".join(self.r2), tree,
                           self.line_anchors, self.lines_alike)

    def emit(self, py: str, r2: str, node: Node | None) -> None:
        self.py.append(py)
        self.r2.append(r2)
        if node is not None:
            self.groups[-1].alternatives[-1].append(node)

    def char(self, cp: int) -> None:
        if cp in LINE_ENDS:
            self.lines_alike = False
        self.emit(literal(cp, RE), literal(cp, RE2), self.atom(((cp, cp),)))

    def char_set(self, ranges: Ranges, negated: bool = False) -> None:
        if line_ends_in(ranges) not in (0, len(LINE_ENDS)):
            self.lines_alike = False
        self.emit(render(ranges, RE, negated), render(ranges, RE2, negated),
                  self.atom(complement(ranges) if negated else ranges))

    def atom(self, chars: Ranges) -> Node:
        return Node("atom", chars=case_keys(chars) if self.ignore_case else chars)

    def line_anchor(self, py_multiline: str, r2_multiline: str, py: str, r2: str) -> None:
        if self.multiline:
            self.line_anchors = True
            self.emit(py_multiline.format(render(LINE_END, RE, negated=True)), r2_multiline, Node("anchor"))
        else:
            self.emit(py, r2, Node("anchor", at_start=py == "^"))

    def quantifier(self, c: str) -> bool:
        """Reads a quantifier starting with `c`; False when `{` is a plain brace (JavaScript's Annex B)."""
        src, start = self.src, self.i - 1
        lo, hi = {"*": (0, INF), "+": (1, INF), "?": (0, 1.0), "{": (0, 0.0)}[c]
        if c == "{":
            m = _BRACE.match(src, start)
            if m is None:
                return False
            lo = int(m.group(1))
            hi = lo if m.group(2) is None else INF if not m.group(3) else int(m.group(3))
            if hi < lo:
                raise bad(src, "numbers out of order in {} quantifier")
            self.i = m.end()
        current = self.groups[-1].alternatives[-1]
        if not current or not current[-1].quantifiable:
            raise bad(src, "nothing to repeat")
        if self.i < len(src) and src[self.i] == "?":
            self.i += 1
        text = src[start:self.i]
        current[-1] = Node("repeat", (current[-1],), lo, hi)
        self.emit(text, text, None)
        return True

    def open_group(self) -> None:
        src, i = self.src, self.i
        if not src.startswith("?", i):
            self.groups.append(_Group())
            self.emit("(", "(", None)
            return
        for head in ("?:", "?=", "?!", "?<=", "?<!"):
            if src.startswith(head, i):
                look = head != "?:"
                self.backtracking_only = self.backtracking_only or look
                self.groups.append(_Group(look))
                self.emit("(" + head, "(" + head, None)
                self.i = i + len(head)
                return
        m = re.match(r"\?<([^>]*)>", src[i:])
        if m is None:
            raise bad(src, "invalid group")
        name = m.group(1)
        if not name.isidentifier():
            raise bad(src, f"group name {name!r} is not supported (use letters, digits and _)")
        self.groups.append(_Group())
        self.emit(f"(?P<{name}>", f"(?P<{name}>", None)
        self.i = i + m.end()

    def close_group(self) -> None:
        if len(self.groups) == 1:
            raise bad(self.src, "unmatched ')'")
        group = self.groups.pop()
        node = group.node()
        self.emit(")", ")", Node("look", (node,)) if group.look else node)

    def escape(self) -> None:
        src = self.src
        if self.i >= len(src):
            raise bad(src, "\\ at end of pattern")
        c = src[self.i]
        self.i += 1
        if c in ESCAPES:
            self.char_set(ESCAPES[c.lower()], negated=c.isupper())  # negated by the engine: see render
        elif c == "b":
            self.emit("(?a:\\b)", "\\b", Node("anchor"))  # both engines' \b is ASCII, as JavaScript's
        elif c == "B":  # Python's \B (before 3.14) fails on the empty text, where JavaScript's holds
            self.emit("(?:(?a:\\B)|\\A\\Z)", "\\B", Node("anchor"))
        elif c == "k" and src.startswith("<", self.i):
            end = src.find(">", self.i)
            if end < 0:
                raise bad(src, "invalid named reference")
            name = src[self.i + 1:end]
            self.i = end + 1
            self.backreference(f"(?({name})(?P={name}))")  # JavaScript: a group that took no part matches empty
        elif c.isdigit() and not (c == "0" and not src[self.i:self.i + 1].isdigit()):
            self.number_escape(c)
        elif c in "pP" and src.startswith("{", self.i):
            raise bad(src, "Unicode property escapes (\\p{...}) are not supported")
        else:
            cp, self.i = char_escape(src, self.i, c, pairs=True)
            self.char(cp)

    def backreference(self, py: str) -> None:
        self.backtracking_only = True
        self.emit(py, "", BACKREF)

    def number_escape(self, first: str) -> None:
        src = self.src
        j = self.i
        while j < len(src) and src[j].isdigit():
            j += 1
        digits = first + src[self.i:j]
        number = int(digits)
        if not 0 < number <= self.group_count:
            raise bad(src, f"\\{digits} refers to no group (octal escapes are not supported)")
        self.i = j
        self.backreference(f"(?({number})\\{number})")  # a group that took no part matches empty, as in JavaScript

    def char_class(self) -> None:
        src = self.src
        negated = src.startswith("^", self.i)
        if negated:
            self.i += 1
        spans: list[tuple[int, int]] = []
        while self.i < len(src) and src[self.i] != "]":
            first = self.class_atom()
            if src.startswith("-", self.i) and self.i + 1 < len(src) and src[self.i + 1] != "]":
                self.i += 1
                last = self.class_atom()
                if isinstance(first, int) and isinstance(last, int):
                    if last < first:
                        raise bad(src, "range out of order in character class")
                    spans.append((first, last))
                    continue
                spans.extend(_spans(first) + [(0x2D, 0x2D)] + _spans(last))  # Annex B: `[\d-z]` has a plain -
                continue
            spans.extend(_spans(first))
        if self.i >= len(src):
            raise bad(src, "missing ']'")
        self.i += 1
        self.char_set(merge(spans), negated)

    def class_atom(self) -> int | Ranges:
        """One character of a class, or the set a class escape stands for."""
        src = self.src
        c = src[self.i]
        self.i += 1
        if c != "\\":
            return ord(c)
        if self.i >= len(src):
            raise bad(src, "\\ at end of pattern")
        c = src[self.i]
        self.i += 1
        if c in ESCAPES:
            return ESCAPES[c]
        if c == "b":
            return 0x08
        if c.isdigit() and not (c == "0" and not src[self.i:self.i + 1].isdigit()):
            raise bad(src, f"\\{c} in a class (octal escapes are not supported)")
        cp, self.i = char_escape(src, self.i, c)
        return cp


def _spans(atom: int | Ranges) -> list[tuple[int, int]]:
    return [(atom, atom)] if isinstance(atom, int) else list(atom)
