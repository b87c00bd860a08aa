"""The expression evaluator: JavaScript semantics for what n8n workflows write, and errors for the rest."""

from __future__ import annotations

import string
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.workflows.context import ItemScope, RunView
from core.workflows.errors import ExpressionError
from core.workflows.expressions import compile_template, plain_value, render_template, resolve
from core.workflows.expr_eval import evaluate
from core.workflows.expr_parser import parse
from core.workflows.items import Item
from tests.unit.workflow_support import NOW

ITEM = Item(json={"name": "Ada", "n": 3, "tags": ["a", "b"], "body": {"x": None, "deep": {"k": "v"}},
                  "s": " Mixed Case "}, paired={"Source": [0, 0]})
VIEW = RunView(outputs={"Source": [[Item(json={"id": 7, "title": "first"}), Item(json={"id": 8})]]}, now=NOW,
               execution_id="ex-1", workflow_id="wf-1", workflow_name="demo")


def ev(source: str) -> Any:
    return plain_value(evaluate(parse(source), ItemScope(VIEW, "Here", [ITEM], 0)))


CASES = [
    ("$json.name", "Ada"),
    ("$json['name'] + '!'", "Ada!"),
    ("$json.n * 2 + 1", 7),
    ("$json.n / 2", 1.5),
    ("7 % 4", 3),
    ("2 ** 10", 1024),
    ("'n=' + $json.n", "n=3"),
    ("1 + '1'", "11"),
    ("'3' * '4'", 12),
    ("$json.missing ?? 'dflt'", "dflt"),
    ("$json.body.x ?? 'null-too'", "null-too"),
    ("$json.body?.deep?.k", "v"),
    ("$json.nothing?.deep.k", None),
    ("$json.tags?.[1]", "b"),
    ("$json.tags.length", 2),
    ("$json.tags.join('-')", "a-b"),
    ("$json.tags.includes('b')", True),
    ("$json.tags.map(t => t.toUpperCase())", ["A", "B"]),
    ("$json.s.trim().toLowerCase()", "mixed case"),
    ("$json.name.startsWith('A') && $json.n > 2", True),
    ("$json.n === 3 ? 'three' : 'other'", "three"),
    ("$json.n == '3'", True),
    ("$json.n === '3'", False),
    ("null == undefined", True),
    ("!$json.missing", True),
    ("typeof $json.n", "number"),
    ("typeof notDefinedAnywhere", "undefined"),
    ("JSON.stringify({a: 1, b: [true, null], c: 'x'})", '{"a":1,"b":[true,null],"c":"x"}'),
    ("JSON.stringify($json.missing ?? null)", "null"),
    ("JSON.parse('{\"r\": 2.5}').r", 2.5),
    ("`Hello ${$json.name}, ${$json.n + 1}`", "Hello Ada, 4"),
    ("$itemIndex", 0),
    ("$input.item.json.name", "Ada"),
    ("$input.first().json.n", 3),
    ("$('Source').item.json.id", 7),
    ("$('Source').first().json.title", "first"),
    ("$('Source').last().json.id", 8),
    ("$('Source').all().length", 2),
    ("$node['Source'].json.id", 7),
    ("$now.toISO()", "2025-03-01T12:00:00.000+00:00"),
    ("new Date().toISOString()", "2025-03-01T12:00:00.000Z"),
    ("Math.max(1, $json.n, 2)", 3),
    ("Math.round(2.5)", 3),
    ("parseInt('42px')", 42),
    ("Number('1.5') + 1", 2.5),
    ("String(12).padStart(4, '0')", "0012"),
    ("Object.keys($json.body)", ["x", "deep"]),
    ("(1.005).toFixed(1)", "1.0"),
    ("[1, 2, 3].filter(x => x > 1).length", 2),
    ("$execution.id + '/' + $workflow.name", "ex-1/demo"),
    ("-$json.n", -3),
    ("'a,b'.split(',')", ["a", "b"]),
    ("0.1 + 0.2", 0.30000000000000004),
    ("10 / 4 * 2", 5),
]


@pytest.mark.parametrize(("source", "expected"), CASES)
def test_evaluates_like_javascript(source: str, expected: Any) -> None:
    assert ev(source) == expected


ERRORS = [
    ("$json.missing.deeper", "cannot read properties of undefined"),
    ("$json.name(", "expected"),
    ("class A {}", "not supported"),
    ("$json.name.nope()", "is not a function"),
    ("$('Nowhere').item.json.x", "has not run"),
    ("$env.HOME", "not available"),
    ("a = 1", "only names declared with let"),
    ("[...$json.n]", "not iterable"),
    ("'unterminated", "unterminated"),
    ("1 +", "unexpected"),
    ("#", "unexpected character"),
]


@pytest.mark.parametrize(("source", "fragment"), ERRORS)
def test_errors_say_what_is_wrong(source: str, fragment: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        ev(source)
    assert fragment in str(caught.value)


def test_templates_keep_a_lone_value_typed_and_stringify_mixed_text() -> None:
    scope = ItemScope(VIEW, "Here", [ITEM], 0)
    assert render_template(compile_template("{{ $json.n }}"), scope) == 3
    assert render_template(compile_template("n is {{ $json.n }}"), scope) == "n is 3"
    assert render_template(compile_template("{{ $json.tags }}!"), scope) == '["a","b"]!'
    assert render_template(compile_template('{"k": {{ JSON.stringify($json.name) }}}'), scope) == '{"k": "Ada"}'
    assert render_template(compile_template("{{ { a: 1 } }}"), scope) == {"a": 1}
    assert resolve({"url": "=https://x/{{ $json.name }}", "plain": "{{ not evaluated }}", "list": ["={{ 1 + 1 }}"]},
                   scope) == {"url": "https://x/Ada", "plain": "{{ not evaluated }}", "list": [2]}


def test_the_paired_item_is_required_when_a_node_has_many() -> None:
    lone = Item(json={})  # derives from nothing: which of Source's two items is meant cannot be told
    with pytest.raises(ExpressionError, match="cannot tell which item"):
        plain_value(evaluate(parse("$('Source').item.json.id"), ItemScope(VIEW, "Here", [lone], 0)))


CODE_CHARS = string.ascii_letters[:8] + string.digits[:4] + " .,()[]{}'\"`$?:!=<>+-*/%&|^~#;\\\n_"


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=CODE_CHARS, max_size=40))
def test_any_text_parses_and_evaluates_or_fails_with_the_engines_own_error(source: str) -> None:
    try:
        ev(source)
    except ExpressionError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_any_template_compiles_or_fails_with_the_engines_own_error(text: str) -> None:
    try:
        parts = compile_template(text)
        render_template(parts, ItemScope(VIEW, "Here", [ITEM], 0))
    except ExpressionError:
        pass
