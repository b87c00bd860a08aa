"""JavaScript regular expressions compiled for RE2 (linear time whatever the text) or, for look-around and
backreferences, which RE2 cannot run, for Python's backtracking `re` within bounds that keep it short."""

from __future__ import annotations

import functools
import re
from typing import Any

import re2

from core.workflows.errors import ExpressionError
from core.workflows.expr_regex_cost import exponential, fallback_limit, width
from core.workflows.expr_regex_escapes import bad
from core.workflows.expr_regex_subject import Re2Subject, ReSubject, Subject
from core.workflows.expr_regex_translate import Translation, translate

MAX_PATTERN = 10_000
# Text a regex may run over (RE2's linear time keeps this cheap; `re` gets a smaller bound per pattern).
MAX_INPUT = 50_000
FLAGS = "gimsuy"
# RE2 knows only \n as a line end: a multiline ^ or $ over text with the others sees them made \n.
_OTHER_LINE_ENDS = ("\r", "\u2028", "\u2029")
_TO_NEWLINE = {ord(c): "\n" for c in _OTHER_LINE_ENDS}
# Memory one RE2 may use for its program and DFA caches (RE2's default is 8 MiB; up to 512 patterns are cached).
RE2_MAX_MEM = 2 << 20


class JsPattern:
    """A compiled JavaScript regex: its RE2 form when RE2 can run it, and always its Python `re` form."""

    def __init__(self, source: str, translation: Translation, fallback: re.Pattern[str], compiled: Any) -> None:
        self.source = source
        self.translation = translation
        self.fallback = fallback
        self.re2 = compiled
        self.groups = fallback.groups
        self.names = tuple(sorted(fallback.groupindex.items(), key=lambda kv: kv[1]))  # (name, group number)
        self.width = width(translation.tree)

    @property
    def engine(self) -> str:
        """The engine that runs it ("re2", or "re" for look-around and backreferences)."""
        return "re" if self.re2 is None else "re2"

    def subject(self, text: str) -> Subject:
        """`text` ready for searching, on RE2 when it can run this pattern over it."""
        t = self.translation
        if self.re2 is not None:
            if not (t.line_anchors and any(c in text for c in _OTHER_LINE_ENDS)):
                return Re2Subject(self.re2, self.groups, self.width, text, text)
            if t.lines_alike:  # no part of the pattern tells one line end from another
                return Re2Subject(self.re2, self.groups, self.width, text, text.translate(_TO_NEWLINE))
        return self._backtracking(text)

    def _backtracking(self, text: str) -> ReSubject:
        self.check_backtracking(len(text))
        return ReSubject(self.fallback, text)

    def check_backtracking(self, length: int) -> None:
        """Refuses what could keep Python's `re` busy for long: an exponential pattern, or a text longer than
        this pattern's limit."""
        t = self.translation
        why = ("it has look-around or a backreference" if t.re2 is None else
               "it is past RE2's limits (a repeat count over 1,000 or a very large pattern)" if self.re2 is None
               else "it has a multiline ^ or $, tells line ends apart (like `\\r?$` or `[^\\n]`), and the text has "
                    "\\r, \\u2028 or \\u2029, while RE2 knows only \\n as a line end")
        if self.exponential:
            raise bad(self.source, "a repeated group that itself repeats or has alternatives (like `(a+)+` or "
                                   "`(a|b)*`) can take exponential time on Python's backtracking engine, which "
                                   f"Hive uses here because {why}; Hive refuses it: rewrite it without the nested "
                                   "repeat (with a class like [ab]* for alternatives)")
        if length > self.limit:
            raise ExpressionError(f"text too long for the regular expression /{self.source[:40]}/ ({length} "
                                  f"characters, at most {self.limit}): {why}, so it runs on Python's "
                                  "backtracking engine, where each repeat a later failure can return into "
                                  "multiplies the time by the text's length")

    @functools.cached_property
    def exponential(self) -> bool:
        return exponential(self.translation.tree)

    @functools.cached_property
    def limit(self) -> int:
        """The longest text Python's `re` may search with this pattern (about 0.2 s at worst)."""
        return fallback_limit(self.translation.tree, MAX_INPUT)


@functools.lru_cache(maxsize=512)
def compile_js(source: str, flags: str) -> JsPattern:
    """The pattern for JavaScript's `/source/flags`; ExpressionError says what is wrong or refused."""
    if any(f not in FLAGS for f in flags) or len(set(flags)) != len(flags):
        raise ExpressionError(f"invalid regular expression flags {flags!r} (Hive supports {FLAGS})")
    if len(source) > MAX_PATTERN:
        raise bad(source[:40] + "...", f"longer than {MAX_PATTERN} characters")
    translation = translate(source, flags)
    try:  # Python's `re` checks the syntax (and runs the pattern when RE2 cannot)
        fallback = re.compile(translation.python, re.IGNORECASE if "i" in flags else 0)
    except re.error as err:
        raise bad(source, str(err)) from err
    except RecursionError as err:
        raise bad(source, "nested too deeply") from err
    pattern = JsPattern(source, translation, fallback, _re2(translation.re2, "i" in flags))
    if pattern.re2 is None:
        pattern.check_backtracking(0)  # an exponential pattern is refused now: no text could run it
    return pattern


def _re2(translated: str | None, ignore_case: bool) -> Any:
    """RE2's compiled pattern, or None where RE2 cannot run it (look-around, backreferences, or past RE2's limits:
    a repeat count over 1,000, a program over RE2_MAX_MEM)."""
    if translated is None:
        return None
    options = re2.Options()
    options.case_sensitive = not ignore_case
    options.log_errors = False
    options.max_mem = RE2_MAX_MEM
    try:
        return re2.compile(translated, options)
    except re2.error:
        return None
