"""RegExp values (`/re/g`, `new RegExp(s, flags)`): `test`, `exec` and `lastIndex` as JavaScript runs them."""

from __future__ import annotations

from typing import Any

from core.workflows import expr_budget
from core.workflows.errors import ExpressionError
from core.workflows.expr_regex import MAX_INPUT, JsPattern, compile_js
from core.workflows.expr_regex_subject import Hit, Subject
from core.workflows.expr_values import UNDEFINED, Fn, JsArray, JsObject, to_number, to_string

def check_input(text: str) -> str:
    if len(text) > MAX_INPUT:
        raise ExpressionError(f"text too long for a regular expression ({len(text)} characters, at most {MAX_INPUT})")
    expr_budget.step()
    expr_budget.charge(len(text))
    return text


class RegExpValue(JsObject):
    """A JavaScript RegExp: its source and flags, the translated pattern, and a mutable `lastIndex`."""

    shares_data = False

    def __init__(self, source: str, flags: str) -> None:
        self.pattern: JsPattern = compile_js(source, flags)
        self.source = source
        self.flags = "".join(sorted(flags, key="dgimsuvy".index))
        self.last_index: Any = 0
        self.last_engine: str | None = None  # "re2" or "re": which engine ran its last search

    @property
    def is_global(self) -> bool:
        return "g" in self.flags

    @property
    def sticky(self) -> bool:
        return "y" in self.flags

    def get(self, key: str) -> Any:
        props = {
            "source": _shown_source(self.source), "flags": self.flags, "global": self.is_global,
            "ignoreCase": "i" in self.flags, "multiline": "m" in self.flags, "dotAll": "s" in self.flags,
            "unicode": "u" in self.flags, "sticky": self.sticky, "hasIndices": False, "lastIndex": self.last_index,
        }
        if key in props:
            return props[key]
        if key == "test":
            return Fn("test", lambda a: self.exec(to_string(a[0] if a else UNDEFINED)) is not None)
        if key == "exec":
            return Fn("exec", lambda a: self.exec(to_string(a[0] if a else UNDEFINED)))  # None is null
        if key == "toString":
            return Fn("toString", lambda a: f"/{_shown_source(self.source)}/{self.flags}")
        return UNDEFINED

    def set(self, key: str, value: Any) -> None:
        if key != "lastIndex":
            super().set(key, value)
        self.last_index = value

    def exec(self, text: str) -> JsArray | None:
        """RegExpBuiltinExec: a match from `lastIndex` (global or sticky, which then moves it) or from 0."""
        subject = self.subject(text)
        uses_last = self.is_global or self.sticky
        start = _index(self.last_index) if uses_last else 0
        if start > len(text):
            self.last_index = 0
            return None
        found = self.find(subject, start)
        if found is None:
            if uses_last:
                self.last_index = 0
            return None
        if uses_last:
            self.last_index = found.end
        return match_array(found, self.pattern, text)

    def subject(self, text: str) -> Subject:
        """`text` checked, counted and ready for this regex's engine."""
        check_input(text)
        subject = self.pattern.subject(text)
        self.last_engine = subject.engine
        return subject

    def find(self, subject: Subject, start: int) -> Hit | None:
        return subject.match(start) if self.sticky else subject.search(start)


def _index(value: Any) -> int:
    x = to_number(value)
    if x != x or x <= 0:
        return 0
    return int(min(x, 2**53))


def _shown_source(source: str) -> str:
    if source == "":
        return "(?:)"
    out, in_class, i = [], False, 0
    while i < len(source):  # an unescaped `/` is shown escaped, as JavaScript's `source` does
        c = source[i]
        if c == "\\":
            out.append(source[i:i + 2])
            i += 2
            continue
        in_class = (c != "]") if in_class else c == "["
        out.append("\\/" if c == "/" and not in_class else "\\n" if c == "\n" else c)
        i += 1
    return "".join(out)


def captures(found: Hit) -> list[Any]:
    """The groups of a match, undefined for a group that did not take part."""
    return [UNDEFINED if g is None else g for g in found.groups[1:]]


def named(found: Hit, pattern: JsPattern) -> Any:
    if not pattern.names:
        return UNDEFINED
    return {name: UNDEFINED if found.groups[n] is None else found.groups[n] for name, n in pattern.names}


def match_array(found: Hit, pattern: JsPattern, text: str) -> JsArray:
    return JsArray([found.matched, *captures(found)],
                   {"index": found.start, "input": text, "groups": named(found, pattern)})


def to_regexp(value: Any, flags: str = "") -> RegExpValue:
    """The RegExp a string method was given, or one built from a string (`'a.c'.match('.')` reads `/./`)."""
    if isinstance(value, RegExpValue):
        return value
    return RegExpValue("(?:)" if value is UNDEFINED else to_string(value), flags)


def new_regexp(args: list[Any]) -> RegExpValue:
    """`new RegExp(pattern, flags)` and `RegExp(...)`: from a string or a RegExp (copying or replacing flags)."""
    source = args[0] if args else UNDEFINED
    flags = args[1] if len(args) > 1 else UNDEFINED
    if isinstance(source, RegExpValue):
        return RegExpValue(source.source, source.flags if flags is UNDEFINED else to_string(flags))
    text = "" if source is UNDEFINED else to_string(source)
    return RegExpValue(text, "" if flags is UNDEFINED else to_string(flags))
