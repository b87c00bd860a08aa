"""Regular expressions: literals told from division, JavaScript's regex meaning kept on RE2 and Python's `re`, the
string methods that take patterns, and the patterns and inputs refused to keep matching bounded."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.workflows.errors import ExpressionError
from core.workflows.expr_lexer import find_close, tokenize
from core.workflows.expr_regexp import MAX_INPUT
from core.workflows.expressions import compile_template, render_template
from tests.unit.expr_support import ev, scope

REGEX = [
    # literals, test, exec, lastIndex
    ("/ab+c/i.test('xABBBC')", True),
    ("/(\\d+)/.exec('ab12cd')", ["12", "12"]),
    ("/(\\d+)/.exec('ab12cd').index", 2),
    ("/x/.exec('y')", None),
    ("(() => { const r = /a/g; return [r.test('aa'), r.lastIndex, r.test('aa'), r.lastIndex, r.test('aa')] })()",
     [True, 1, True, 2, False]),  # a global regex remembers where it stopped
    ("(() => { const r = /a/y; r.lastIndex = 1; return r.test('ba') })()", True),
    ("/a\\/b/g.source", "a\\/b"),
    ("String(/a/gi)", "/a/gi"),
    ("new RegExp('a.c', 'g').flags", "g"),
    ("new RegExp('a/b').source", "a\\/b"),
    ("new RegExp('^\\\\d+$').test('123')", True),
    ("RegExp('x+').test('xx')", True),
    ("new RegExp(/a/g, 'i').flags", "i"),
    ("typeof /x/", "object"),
    # division is still division
    ("6 / 2 / 3", 1),
    ("$json.n / 3 * 2", 2),
    ("[6][0] / 2", 3),
    ("(4) / 2 + /2/.source", "22"),
    # match and matchAll
    ("'a1b22c333'.match(/\\d+/g)", ["1", "22", "333"]),
    ("'abc'.match(/x/g)", None),
    ("'a1b22'.match(/\\d+/)", ["1"]),
    ("'a1b22'.match(/(?<digits>\\d+)/).groups.digits", "1"),
    ("'a1b22'.match('\\\\d\\\\d')[0]", "22"),  # a string is read as a pattern
    ("[...'a1b22'.matchAll(/\\d+/g)].map(m => m[0] + '@' + m.index)", ["1@1", "22@3"]),
    ("Array.from('k=v;x=y'.matchAll(/(\\w)=(\\w)/g), m => m[1] + m[2])", ["kv", "xy"]),
    ("$json.text.match(/#(\\d+)/)[1]", "123"),
    ("$json.text.match(/(?<y>\\d{4})-(?<m>\\d\\d)-(?<d>\\d\\d)/).groups", {"y": "2024", "m": "01", "d": "15"}),
    ("$json.text.match(/[\\w.]+@[\\w.]+/)[0]", "jo@example.com"),
    # replace and replaceAll
    ("'2024-01-15'.replace(/(\\d+)-(\\d+)-(\\d+)/, '$3/$2/$1')", "15/01/2024"),
    ("'John Smith'.replace(/(?<first>\\w+) (?<last>\\w+)/, '$<last>, $<first>')", "Smith, John"),
    ("'aaa'.replace(/a/, 'b')", "baa"),
    ("'aaa'.replace(/a/g, 'b')", "bbb"),
    ("'aaa'.replaceAll(/a/g, 'b')", "bbb"),
    ("'a.b.c'.replaceAll('.', '/')", "a/b/c"),
    ("'x'.replace('x', '$&$&')", "xx"),  # replacement patterns apply to text patterns too
    ("'abc'.replace(/b/, \"[$`|$'|$$]\")", "a[a|c|$]c"),
    ("'abc'.replace(/(z)?b/, '[$1]')", "a[]c"),  # a group that did not take part is empty
    ("'abc'.replace(/(z)?b/, (m, p1) => typeof p1)", "aundefinedc"),
    ("'ab'.replace(/(a)(b)/, '$12')", "a2"),  # no group 12: $1 then '2'
    ("'a'.replace(/a/, '$0$1')", "$0$1"),
    ("'test'.replace(/(t)/g, '[$<name>]')", "[$<name>]es[$<name>]"),  # no named groups: left as it is
    ("'Hello'.replace(/l/g, m => m.toUpperCase())", "HeLLo"),
    ("'abc'.replace(/(?<x>b)/, (m, p1, offset, whole, groups) => groups.x + offset + whole)", "ab1abcc"),
    ("'aaa'.replaceAll('a', (m, i) => i)", "012"),
    ("'ab'.replaceAll('', '-')", "-a-b-"),
    ("'abxd'.replace(/x*/g, '-')", "-a-b--d-"),  # empty matches step one character on
    ("'foo bar'.replace(/\\b\\w/g, c => c.toUpperCase())", "Foo Bar"),
    ("'Ünïcödé'.normalize('NFD').replace(/[\\u0300-\\u036f]/g, '')", "Unicode"),
    ("'  padded  '.replace(/^\\s+|\\s+$/g, '')", "padded"),
    # split and search
    ("'a, b,c'.split(/\\s*,\\s*/)", ["a", "b", "c"]),
    ("'abc'.split(/(b)/)", ["a", "b", "c"]),  # captures are kept
    ("'test'.split(/(?:)/)", ["t", "e", "s", "t"]),
    ("''.split(/x/)", [""]),
    ("''.split(/(?:)/)", []),
    ("'abc'.split(/b/, 1)", ["a"]),
    ("'a1b2'.split(/\\d/)", ["a", "b", ""]),
    ("'ab'.split(/(?=b)/)", ["a", "b"]),
    ("'abc'.search(/c/)", 2),
    ("'abc'.search(/z/)", -1),
    # JavaScript's meaning of classes, anchors and flags
    ("'café'.match(/\\w+/)[0]", "caf"),  # \w is ASCII
    ("'1٣'.match(/\\d+/)[0]", "1"),  # \d is ASCII
    ("'a\\u00a0b'.replace(/\\s/, '_')", "a_b"),  # no-break space is \s in JavaScript
    ("'a\\u001cb'.replace(/\\s/, '_')", "a\u001cb"),  # ...and U+001C is not (Python's \s says it is)
    ("'αβ'.match(/\\bβ/)", None),  # \b sees ASCII word characters only
    ("'a\\nb'.match(/a.b/)", None),
    ("'a\\nb'.match(/a.b/s)[0]", "a\nb"),
    ("'a\\u2028b'.match(/a.b/)", None),  # . stops at every line terminator
    ("'l1\\nl2'.match(/^l2$/m)[0]", "l2"),
    ("'l1\\nl2'.match(/^l2$/)", None),
    ("'abc\\n'.replace(/$/, '!')", "abc\n!"),  # $ is the very end without m (Python's also matches before \n)
    ("'a\\r\\nb'.replace(/$/gm, '|')", "a|\r|\nb|"),
    ("'a\\nb'.replace(/^/gm, '> ')", "> a\n> b"),
    ("'aA'.match(/a/gi)", ["a", "A"]),
    ("'aaa'.replace(/a/gy, 'b')", "bbb"),
    ("'abc'.match(/[]/)", None),  # an empty class matches nothing
    ("'abc'.match(/[^]/)[0]", "a"),  # ...and its negation anything
    ("'[x]'.replace(/[[\\]]/g, '')", "x"),
    ("'a{b'.replace(/{/, '!')", "a!b"),
    ("'b'.match(/(a)?\\1b/)[0]", "b"),  # a backreference to a group that did not take part matches empty
    ("'aa-aa'.match(/(?<p>a+)-\\k<p>/)[0]", "aa-aa"),
    ("'\\t'.match(/\\cI/)[0] === '\\t'", True),
    ("'xay'.replace(/\\x61/, 'A')", "xAy"),
    ("'a+b'.split(/\\+/)", ["a", "b"]),
    ("'a/b'.split(/\\//)", ["a", "b"]),
    ("'price: 10.50'.match(/(\\d+)\\.(\\d+)/).slice(1).map(Number)", [10, 50]),
    ("/\\d{3,}/.test('12')", False),
    ("/colou?r/.test('color')", True),
    ("/^[\\w.+-]+@[\\w-]+\\.[\\w.]+$/.test('a.b+c@x-y.org')", True),
    # patterns Python's backtracking would take exponential time on run on RE2 (see test_expr_regex_engines)
    ("/(a+)+$/.test('aaaa!')", False),
    ("/(?:\\s*\\w+)*x/.test('a')", False),
    ("/((a)+)*/.exec('aa')", ["aa", "aa", "a"]),
    ("/^(a|a)*$/.test('aaaa')", True),
    # classes as JavaScript reads them, on either engine
    ("'a-b.c'.match(/[\\w-.]+/)[0]", "a-b.c"),  # Annex B: a - beside a class escape is a plain -
    ("'1\u0663'.match(/[\\D]/)[0]", "\u0663"),  # \D in a class is anything but 0-9 (Python's is Unicode)
    ("'\\v'.match(/[\\S]/)", None),  # \v is a space (RE2's \s has no \v)
    ("'x\\r\\ny'.match(/[^\\r\\n]+$/)[0]", "y"),
    # offsets in text beyond ASCII (RE2 runs on UTF-8 bytes)
    ("'\u00e9a1\u00fc2'.match(/\\d/g)", ["1", "2"]),
    ("'\u00e9a1'.match(/\\d/).index", 2),
    ("'\u00e9 b'.replace(/\\B/g, '|')", "|\u00e9| b"),
    ("'a\\u2029b'.search(/\\B/)", -1),  # not inside the bytes of a multi-byte character
    ("'\U0001f600!'.replace(/\\ud83d\\ude00/, 'x')", "x!"),  # a pair of escapes is the one character
    ("'\\ud800x'.match(/x/).index", 1),  # a lone surrogate in the text
    # multiline ^ and $ over \r, \u2028 and \u2029 (RE2 knows only \n as a line end)
    ("'a\\r\\nb\\u2028c'.match(/^\\w$/gm)", ["a", "b", "c"]),
    ("'a\\r\\nb'.match(/^a\\r?$/m)[0]", "a\r"),  # tells \r from \n: Python's `re` runs it
]


@pytest.mark.parametrize(("source", "expected"), REGEX)
def test_regexes_behave_as_in_javascript(source: str, expected: Any) -> None:
    assert ev(source) == expected


def test_the_lexer_tells_a_regex_from_a_division_by_the_token_before() -> None:
    kinds = [t.kind for t in tokenize("a / b / c")]
    assert "regex" not in kinds
    assert [t.kind for t in tokenize("x.split(/,/)")][4] == "regex"
    assert [t.kind for t in tokenize("(a) / 2")][3] == "punct"
    assert tokenize("return /x/g")[1].value == ("x", "g")
    assert tokenize("/[/]/")[0].value == ("[/]", "")  # a slash in a class does not end it


def test_templates_skip_regex_literals_when_finding_their_end() -> None:
    source = "x.replace(/}}/g, '') }} rest"
    assert find_close(source, 0, "}}") == source.index(" }} rest") + 1
    assert find_close("s.split(/[(]/) }}", 0, "}}") == 15
    assert render_template(compile_template("{{ $json.name.replace(/a/g, '}}') }}!"), scope()) == "Ad}}!"
    assert render_template(compile_template("{{ $json.n / 3 }}/{{ 6 / $json.n }}"), scope()) == "1/2"


ERRORS = [
    # with look-around or a backreference, Python's `re` runs the pattern: what could take exponential time is refused
    ("/(a+)+$(?<!b)/.test('aaaa!')", "exponential time"),
    ("/(?:\\s*\\w+)*(?=x)/.test('a')", "exponential time"),
    ("/((a)+)*\\1/", "exponential time"),
    ("/(a|a)*(?=b)/", "exponential time"),
    ("/a{2,1}/", "numbers out of order"),
    ("/a**/", "nothing to repeat"),
    ("/*a/", "comments are not supported"),
    ("/a/z", "invalid regular expression flags 'z'"),
    ("/a/gg", "invalid regular expression flags"),
    ("/(?<a$>x)/", "group name 'a$' is not supported"),
    ("/\\p{L}/u", "Unicode property escapes"),
    ("/(?>a)/", "invalid group"),  # an atomic group: Python has them, JavaScript does not
    ("/(/", "missing ')'"),
    ("/a)/", "unmatched ')'"),
    ("/[a/", "unterminated regular expression starting at position 0"),
    ("'x'.split(/[/)", "unterminated regular expression starting at position 10"),
    ("/\\2(a)/", "refers to no group"),
    ("/(?<=a+)b/", "invalid regular expression"),  # Python's look-behind must have a fixed width
    ("'x'.matchAll(/x/)", "matchAll must be called with a global RegExp"),
    ("'x'.replaceAll(/x/, 'y')", "replaceAll must be called with a global RegExp"),
    ("(() => { const r = /a/; r.source = 'b' })()", "cannot set property 'source'"),
    (f"'a'.repeat({MAX_INPUT + 1}).match(/a/)", "text too long for a regular expression"),
]


@pytest.mark.parametrize(("source", "fragment"), ERRORS)
def test_bad_or_risky_regexes_fail_with_a_clear_error(source: str, fragment: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        ev(source)
    assert fragment in str(caught.value)


def _literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\r", "\\r") + "'"


TEXT = st.text(alphabet="ab,.- \n", max_size=25)


@settings(max_examples=150, deadline=None)
@given(TEXT, st.sampled_from([",", ".", "-", " ", "ab"]))
def test_splitting_on_a_regex_of_plain_text_agrees_with_plain_splitting(text: str, sep: str) -> None:
    escaped = re.sub(r"([.\-])", r"\\\1", sep)
    assert ev(f"{_literal(text)}.split(/{escaped}/)") == ev(f"{_literal(text)}.split({_literal(sep)})")
    assert ev(f"{_literal(text)}.split(/{escaped}/).join({_literal(sep)})") == text
    assert ev(f"{_literal(text)}.replace(/{escaped}/g, '#')") == text.replace(sep, "#")


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet="ab1 _\n\u00a0\u2028é", max_size=20))
def test_the_translated_classes_match_what_javascript_counts_as_digits_words_and_spaces(text: str) -> None:
    lit = _literal(text).replace("\u2028", "\\u2028")
    assert ev(f"{lit}.replace(/\\d/g, '')") == "".join(c for c in text if c not in "0123456789")
    assert ev(f"{lit}.replace(/\\w/g, '')") == re.sub(r"[A-Za-z0-9_]", "", text)
    assert ev(f"{lit}.replace(/\\s/g, '')") == "".join(c for c in text if c not in " \n\u00a0\u2028")
    assert ev(f"{lit}.replace(/./g, '')") == "".join(c for c in text if c in "\n\u2028")
