"""Which engine runs a regex: RE2 (linear time) for all it can express, so that patterns Python's backtracking
would take exponential or polynomial time on finish whatever the text; Python's `re` for look-around and
backreferences, within the bounds that keep it short (no exponential pattern, a text length per pattern)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from core.workflows import expr_string_regex as patterns
from core.workflows.errors import ExpressionError
from core.workflows.expr_regex import compile_js
from core.workflows.expr_regex_cost import Node, first, width
from core.workflows.expr_regex_subject import ReSubject
from core.workflows.expr_regexp import MAX_INPUT, RegExpValue
from tests.unit.expr_support import ev
from tests.unit.test_expr_regex import REGEX

# (pattern, flags, text, what exec gives): each takes Python's `re` seconds to hours on this text.
PATHOLOGICAL = [
    ("a.*b.*c", "", "ab" * 20_000, None),  # cubic: 1.5 s on 4,000 characters
    ("(a|a)*b", "", "a" * MAX_INPUT, None),  # exponential
    ("^(a|a)*$", "", "a" * MAX_INPUT, ["a" * MAX_INPUT, "a"]),
    ("(a+)+b", "", "a" * MAX_INPUT, None),
    ("(?:\\s*\\w+)*x", "", "a " * (MAX_INPUT // 2), None),
    ("\\s+$", "", " " * (MAX_INPUT - 1) + "x", None),  # quadratic: ~5 s on 50,000 spaces
    ("^(\\w+\\s?)*$", "m", "word " * 9_999 + "!", None),
]


@pytest.mark.parametrize(("source", "flags", "text", "expected"), PATHOLOGICAL)
def test_patterns_that_backtrack_badly_finish_on_re2(source: str, flags: str, text: str, expected: Any) -> None:
    rx = RegExpValue(source, flags)
    found = rx.exec(text)
    assert (None if found is None else list(found)) == expected
    assert rx.last_engine == "re2"


def test_a_global_replace_with_a_pathological_pattern_runs_on_re2_in_an_expression() -> None:
    assert ev("'a'.repeat(50000).replace(/(a+)+b/g, 'x').length") == 50_000
    assert ev("('ab'.repeat(20000) + 'c').match(/a.*b.*c/g)[0].length") == 40_001
    rx = RegExpValue("(a|a)*", "g")
    assert patterns.replace("aaab", [rx, "-"], False) == "--b-"
    assert rx.last_engine == "re2"


def test_every_table_regex_without_look_around_or_backreference_runs_on_re2(monkeypatch: pytest.MonkeyPatch) -> None:
    engines: dict[str, set[str]] = {}
    subject = RegExpValue.subject

    def recording(self: RegExpValue, text: str) -> Any:
        found = subject(self, text)
        engines.setdefault(self.source, set()).add(found.engine)
        return found

    monkeypatch.setattr(RegExpValue, "subject", recording)
    for source, _ in REGEX:
        ev(source)
    on_re = {source for source, used in engines.items() if used != {"re2"}}
    assert on_re == {"(?=b)", "(a)?\\1b", "(?<p>a+)-\\k<p>", "^a\\r?$"}
    assert len(engines) > 60


def test_look_around_and_backreferences_run_on_python_re() -> None:
    cases = [
        ("'cost: $42, tax: $7'.match(/(?<=\\$)\\d+/g)", ["42", "7"]),
        ("'hello'.match(/(\\w)\\1/)[0]", "ll"),
        ("'a1b2'.replace(/\\d(?!$)/g, '#')", "a#b2"),
        ("'say \"hi\" now'.match(/\"(?:[^\"\\\\]|\\\\.)*(?=\")/)[0]", '"hi'),  # alternatives a character tells apart
    ]
    for source, expected in cases:
        assert ev(source) == expected
    assert compile_js("(?<=\\$)\\d+", "").engine == "re"
    assert compile_js("\\d+", "").engine == "re2"


def test_python_re_gets_a_text_length_that_keeps_each_pattern_short() -> None:
    cubic = compile_js("(?=a)a.*b.*c", "")  # three repeats a failure returns into, look-ahead so on `re`
    assert 100 < cubic.limit < 1_000
    rx = RegExpValue("(?=a)a.*b.*c", "")
    assert rx.exec("ab" * (cubic.limit // 2)) is None
    assert rx.last_engine == "re"
    with pytest.raises(ExpressionError, match="text too long for the regular expression"):
        rx.exec("ab" * (cubic.limit // 2 + 1))
    assert compile_js("(?<=\\$)\\d", "").limit == MAX_INPUT  # linear: each start costs the same
    assert MAX_INPUT > compile_js("(?=\\s)\\s+$", "").limit > cubic.limit  # quadratic
    assert compile_js("^(?=.*\\d)(?=.*[a-z]).{8,}$", "").limit == MAX_INPUT  # anchored: one start, linear


def test_a_multiline_pattern_that_tells_line_ends_apart_falls_back_only_for_text_with_other_line_ends() -> None:
    rx = RegExpValue("^(\\w+\\s?)*\\r?$", "m")
    assert rx.exec("ab cd\nef") is not None
    assert rx.last_engine == "re2"  # only \n in the text: RE2's line ends are JavaScript's
    with pytest.raises(ExpressionError, match="exponential time"):
        rx.exec("ab cd\r\nef")


def test_a_loop_of_searches_that_each_rescan_the_text_is_stopped_by_the_data_budget() -> None:
    # each search prefers `a*b`, which RE2 follows to the text's end before taking the empty match
    with pytest.raises(ExpressionError, match="scans too much data"):
        ev("'a'.repeat(50000).replace(/a*b|/g, '-')")
    words = ("lorem ipsum dolor sit amet " * 2_000)[:MAX_INPUT]
    assert ev(f"'{words}'.match(/\\w+/g).length") == len(words.split())
    assert ev(f"'{words}'.split(/\\s+/).length") == len(words.split())


_ATOMS = ["a", "b", ".", "\\d", "\\w", "\\s", "\\S", "\\W", "[a-c]", "[^a]", "[\\s\\S]", "[\\w-]", "\\b", "\\B", "^",
          "$", "\\n", "\\r", "\\u2028", "é", "[é-ö]", "\\x41", "[^\\n]", "\\.", "-", "(?:ab)", "[]", "[^]"]


@st.composite
def _patterns(draw: st.DrawFn, depth: int = 0) -> str:
    out = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.integers(0, 9)) if depth < 2 else 9
        if kind == 0:
            out.append(f"({draw(_patterns(depth + 1))})")
        elif kind == 1:
            out.append(f"(?:{draw(_patterns(depth + 1))}|{draw(_patterns(depth + 1))})")
        else:
            out.append(draw(st.sampled_from(_ATOMS)))
        if out[-1] not in ("^", "$", "\\b", "\\B") and draw(st.booleans()):
            out[-1] += draw(st.sampled_from(["*", "+", "?", "{1,2}", "*?", "+?", "{2}"]))
    return "".join(out)


def _repeats_what_can_match_nothing(node: Node) -> bool:
    inner = node.kind == "repeat" and width(node.parts[0]) > 0 and first(node.parts[0])[1]
    return inner or any(_repeats_what_can_match_nothing(p) for p in node.parts)


@settings(max_examples=300, deadline=None)
@given(_patterns(), st.sets(st.sampled_from("ims")), st.text(alphabet="aAb1 _-.\n\r\u2028éÉ", max_size=10))
def test_both_translations_find_the_same_matches(source: str, flags: set[str], text: str) -> None:
    """RE2's form and Python's form of a pattern find the same matches at every start, so falling back changes no
    result. Python alone takes a repeat's round that matches nothing (JavaScript and RE2 drop it and backtrack),
    so patterns repeating what can match nothing are left out, and repeated groups' captures are not compared."""
    pattern = compile_js(source, "".join(sorted(flags)))
    assert pattern.engine == "re2"
    assume(not _repeats_what_can_match_nothing(pattern.translation.tree))
    if "m" in flags and any(c in text for c in "\r\u2028"):
        if not pattern.translation.lines_alike:
            return  # RE2 cannot run this one over such text: `re` does
    on_re2 = pattern.subject(text)
    on_re = ReSubject(pattern.fallback, text)
    assert on_re2.engine == "re2"
    repeated_group = any(f"){q}" in source for q in "*+?{")
    for pos in range(len(text) + 1):
        for found, expected in ((on_re2.search(pos), on_re.search(pos)), (on_re2.match(pos), on_re.match(pos))):
            if repeated_group and found is not None and expected is not None:
                found, expected = found.groups[0], expected.groups[0]
            assert found == expected, pos
