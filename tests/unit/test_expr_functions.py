"""Arrow and function bodies, closures, spread, destructuring, array methods and collections, as JavaScript
runs them; the errors that name what and where; the budget that bounds an expression's work."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.workflows.errors import ExpressionError
from core.workflows.expr_budget import MAX_CALL_DEPTH, MAX_STEPS
from core.workflows.expr_eval import evaluate
from core.workflows.expr_parser import parse
from core.workflows.model import parse_workflow
from tests.unit.expr_support import ITEM_JSON, ev, scope
from tests.unit.workflow_support import outputs, run

# (source, the value JavaScript gives); test_expr_node_agreement checks each against Node.js where it is installed.
FUNCTIONS = [
    ("[1, 2, 3].map(x => x * 2)", [2, 4, 6]),
    ("((a, b) => a + b)(2, 3)", 5),
    ("(() => 1)()", 1),
    ("(x => { const y = x * 2; return y; })(4)", 8),
    ("(x => { if (x > 2) { return 'big' } else if (x > 1) return 'mid'; else return 'small' })(2)", "mid"),
    ("(x => { let y; if (x) { y = 'yes' } else { y = 'no' } return y })(0)", "no"),
    ("(x => { x; })(1)", None),  # a block body without return gives undefined
    ("(x => ({ v: x }))(1)", {"v": 1}),
    ("(() => { const a = 1; { const a = 2; } return a })()", 1),  # blocks scope their declarations
    ("(() => { let n = 1; n += 2; n *= 3; n **= 2; return n })()", 81),
    ("(() => { let a = null; a ??= 'set'; let b = 'kept'; b ||= 'not'; let c = 1; c &&= 2; return [a, b, c] })()",
     ["set", "kept", 2]),
    ("(() => { const o = {}; o.k = 1; o['j'] = o.k + 1; return o })()", {"k": 1, "j": 2}),
    ("(() => { const a = []; a[2] = 'x'; return a })()", [None, None, "x"]),  # the gap is two holes
    ("((n) => { const add = (m) => n + m; n = 10; return add(1) })(1)", 11),  # closures see later changes
    ("[1, 2, 3].map(x => y => x + y).map(f => f(10))", [11, 12, 13]),
    ("(function fact(n) { return n <= 1 ? 1 : n * fact(n - 1) })(10)", 3628800),
    ("(() => { const fib = n => n < 2 ? n : fib(n - 1) + fib(n - 2); return fib(15) })()", 610),
    ("(function () { return 7 })()", 7),
    ("((a, b = a + 1, ...rest) => [a, b, rest])(1)", [1, 2, []]),
    ("((...xs) => xs.length)(1, 2, 3)", 3),
    ("(({ a, b: { c }, d = 4 }) => a + c + d)({ a: 1, b: { c: 2 } })", 7),
    ("(([a, , b = 9, ...rest]) => [a, b, rest])([1, 2, undefined, 4, 5])", [1, 9, [4, 5]]),
    ("(() => { const { a, ...others } = { a: 1, b: 2, c: 3 }; return others })()", {"b": 2, "c": 3}),
    ("(() => { const [first, ...rest] = 'hey'; return rest })()", ["e", "y"]),
    ("typeof (x => x)", "function"),
    ("(x => x)\n(5)", 5),
    ("(() => {\n  const a = 1\n  const b = 2\n  return a + b\n})()", 3),
    ("(() => { return\n 1 })()", None),  # a line break after return ends the statement
    ("$json.people.filter(p => p.age > 30).map(p => p.name)", ["Bo", "Cy"]),
    ("Object.entries($json.counts).map(([k, v]) => `${k}=${v}`).join('&')", "x=2&y=5"),
    ("Object.keys($json.counts).map(k => k.toUpperCase())", ["X", "Y"]),
    ("Object.values($json.counts).reduce((a, b) => a + b, 0)", 7),
    ("Object.fromEntries(Object.entries($json.counts).map(([k, v]) => [k, v * 10]))", {"x": 20, "y": 50}),
]

SPREAD = [
    ("[...[1, 2], 3, ...'ab']", [1, 2, 3, "a", "b"]),
    ("({ ...{ a: 1, b: 2 }, b: 3, ...null, ...[7] })", {"a": 1, "b": 3, "0": 7}),
    ("Math.max(...$json.nums)", 25),
    ("Math.min(...[])", None),  # Infinity, which JSON writes as null
    ("((a, b, c) => a + b + c)(...[1, 2], 3)", 6),
    ("[...new Set(['a', 'b', 'a'])]", ["a", "b"]),
    ("[...new Map([['k', 1]])]", [["k", 1]]),
    ("[...Array(2)]", [None, None]),
    ("({ ...$json.counts, z: 0 })", {"x": 2, "y": 5, "z": 0}),
]

ARRAYS = [
    ("[1, 2, 3].reduce((a, b) => a + b)", 6),
    ("[1, 2, 3].reduce((a, b) => a + b, 10)", 16),
    ("[[1, 2], [3]].reduce((acc, x) => acc.concat(x), [])", [1, 2, 3]),
    ("['a', 'b'].reduceRight((acc, x) => acc + x)", "ba"),
    ("$json.nums.sort()", [1, 10, 25, 9]),  # compares as text: '10' < '25' < '9'
    ("$json.nums.sort((a, b) => a - b)", [1, 9, 10, 25]),
    ("$json.people.sort((a, b) => b.age - a.age).map(p => p.name)", ["Bo", "Cy", "al"]),  # stable
    ("[3, undefined, 1].sort()", [1, 3, None]),  # undefined goes last
    ("$json.people.map(p => p.name).sort((a, b) => a.localeCompare(b))", ["al", "Bo", "Cy"]),
    ("$json.people.map(p => p.name).sort()", ["Bo", "Cy", "al"]),  # code units: uppercase first
    ("$json.tags.toSorted()", ["a", "b", "c"]),
    ("[1, 2, 3].find(x => x > 1)", 2),
    ("[1, 2, 3].find(x => x > 5)", None),
    ("[1, 2, 3].findIndex(x => x > 1)", 1),
    ("[1, 2, 3].findIndex(x => x > 5)", -1),
    ("[1, 2, 3, 2].findLast(x => x < 3)", 2),
    ("[1, 2, 3, 2].findLastIndex(x => x < 3)", 3),
    ("[1, 2, 3].some(x => x > 2)", True),
    ("[].some(x => true)", False),
    ("[].every(x => false)", True),
    ("[1, 2, 3].every((x, i) => x === i + 1)", True),
    ("[[1, 2], [3]].flatMap(x => x)", [1, 2, 3]),
    ("[1, 2].flatMap(x => [[x]])", [[1], [2]]),
    ("[1, [2, [3, [4]]]].flat()", [1, 2, [3, [4]]]),
    ("[1, [2, [3, [4]]]].flat(Infinity)", [1, 2, 3, 4]),
    ("(() => { let s = 0; [1, 2, 3].forEach(x => { s += x }); return s })()", 6),
    ("[1, 2, 3].forEach(x => x)", None),
    ("['a', 'b'].map((x, i, all) => x + i + all.length)", ["a02", "b12"]),
    ("Array(3).map((_, i) => i)", [None, None, None]),  # map skips holes
    ("[...Array(3)].map((_, i) => i)", [0, 1, 2]),
    ("Array(3).fill(0)", [0, 0, 0]),
    ("Array.from({ length: 3 }, (_, i) => i * i)", [0, 1, 4]),
    ("Array.from('abc')", ["a", "b", "c"]),
    ("Array.from(new Set([1, 1, 2]))", [1, 2]),
    ("Array.of(7)", [7]),
    ("Array(1, 2)", [1, 2]),
    ("(() => { const a = [1, 2]; const n = a.push(3, 4); return [n, a] })()", [4, [1, 2, 3, 4]]),
    ("(() => { const a = [1, 2, 3]; return [a.pop(), a.shift(), a] })()", [3, 1, [2]]),
    ("(() => { const a = [3]; a.unshift(1, 2); return a })()", [1, 2, 3]),
    ("(() => { const a = [1, 2, 3, 4]; const gone = a.splice(1, 2, 'x'); return [a, gone] })()",
     [[1, "x", 4], [2, 3]]),
    ("(() => { const a = [1, 2, 3]; a.splice(-1); return a })()", [1, 2]),
    ("(() => { const a = [1, 2, 3]; a.length = 1; return a })()", [1]),
    ("[1, 2, 3].reverse()", [3, 2, 1]),
    ("[1, 2, 3].at(-1)", 3),
    ("[1, 2, 3].slice(-2)", [2, 3]),
    ("[1, 2, 3].includes(2, 2)", False),
    ("[NaN].includes(NaN)", True),  # SameValueZero
    ("[NaN].indexOf(NaN)", -1),  # strict equality
    ("[1, 2, 1].lastIndexOf(1)", 2),
    ("[...['a', 'b'].entries()]", [[0, "a"], [1, "b"]]),
    ("[1, null, undefined, 2].join('-')", "1---2"),
    ("[1, [2, 3]].toString()", "1,2,3"),
    ("String([1, [2, [3]]])", "1,2,3"),
]

COLLECTIONS = [
    ("new Set([1, '1', 1.0, NaN, NaN]).size", 3),  # 1 and 1.0 are one value; NaN equals itself here
    ("new Set([1, 2]).has(2)", True),
    ("(() => { const s = new Set(); s.add('a').add('b').add('a'); s.delete('b'); return [...s] })()", ["a"]),
    ("(() => { const m = new Map(); m.set('a', 1).set('b', 2); return [m.get('a'), m.get('z'), m.size] })()",
     [1, None, 2]),
    ("[...new Map([['a', 1], ['b', 2]]).keys()]", ["a", "b"]),
    ("(() => { const m = new Map(); [1, 2, 1].forEach(x => m.set(x, (m.get(x) ?? 0) + 1)); return [...m.entries()] })()",
     [[1, 2], [2, 1]]),
    ("JSON.stringify(new Set([1]))", "{}"),
]

TABLES = FUNCTIONS + SPREAD + ARRAYS + COLLECTIONS


@pytest.mark.parametrize(("source", "expected"), TABLES)
def test_evaluates_like_javascript(source: str, expected: Any) -> None:
    assert ev(source) == expected


def test_expressions_that_mutate_work_on_copies_of_the_items() -> None:
    # JavaScript would sort the item's own list; the engine's items must stay as the log says they were.
    here = scope()
    assert evaluate(parse("$json.tags.sort()"), here) == ["a", "b", "c"]
    assert evaluate(parse("(() => { const t = $json.tags; t.push('z'); return $json.tags.length })()"), here) == 4
    assert evaluate(parse("Object.assign($json.counts, { x: 0 })"), here) == {"x": 0, "y": 5}
    assert evaluate(parse("(() => { $json.counts.x = 9; return $json.counts.x })()"), here) == 9
    assert here.item is not None and here.item.json == ITEM_JSON
    # Within one expression a value read twice is one value (copies are made once per original).
    assert evaluate(parse("(() => { const a = $json.tags; a.sort(); return $json.tags === a })()"), here) is True


ERRORS = [
    ("x => { for (;;) {} }", "`for` is not supported (position 7)"),
    ("x => { while (x) {} }", "`while` is not supported (position 7)"),
    ("x => { var a = 1 }", "`var` is not supported (position 7)"),
    ("const a = 1", "only allowed inside a function body"),
    ("x => { const a; }", "missing '=' after the declaration at position 13"),
    ("x => { let a = 1; let a = 2 }", "'a' has already been declared (position 22)"),
    ("x => { return 1 2 }", "expected ';' at position 16"),
    ("x => { return 1", "missing '}'"),
    ("(...a, b) => 1", "a rest parameter must be the last (position 5)"),
    ("(a + 1) => a", "expected ',' at position 3"),
    ("1 + 2 = 3", "invalid left-hand side in assignment at position 6"),
    ("(() => { const x = 1; x = 2 })()", "assignment to constant variable 'x'"),
    ("(() => { y = 2 })()", "only names declared with let"),
    ("(() => { return z; let z = 1 })()", "cannot access 'z' before its declaration"),
    ("(x => x)(...5)", "number is not iterable"),
    ("[...$json.counts]", "object is not iterable"),
    ("(({ a }) => a)(null)", "cannot destructure null"),
    ("[].reduce((a, b) => a)", "Reduce of empty array with no initial value"),
    ("[1, 2].sort(5)", "comparison function must be either a function or undefined"),
    ("[1].map(5)", "expected a function"),
    ("$json.nope()", "$json.nope is not a function"),
    ("new Foo()", "`new Foo` is not supported"),
    ("this", "`this` is not supported in expressions (position 0)"),
    ("(() => { const let = 1 })()", "cannot be used as a name"),
    ("(() => { 'x'.y = 1 })()", "cannot create property 'y' on string"),
]


@pytest.mark.parametrize(("source", "fragment"), ERRORS)
def test_errors_say_what_and_where(source: str, fragment: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        ev(source)
    assert fragment in str(caught.value)


BOUNDED = [
    ("[...Array(1e9)]", "longer than Hive allows"),
    ("Array(1e6).fill(1).map(x => x)", f"too many steps (more than {MAX_STEPS})"),
    ("(function f(n) { return f(n + 1) })(0)", f"more than {MAX_CALL_DEPTH} nested function calls"),
    ("(() => { const f = () => [1].map(f); return f() })()", "nested function calls"),
    ("(() => { let a = [1]; Array(40).fill(0).forEach(() => { a = [...a, ...a] }); return a.length })()",
     "builds or scans too much data"),
    ("(() => { let s = 'ab'; Array(40).fill(0).forEach(() => { s = s + s }); return s.length })()",
     "string longer than"),
    ("'x'.repeat(2 ** 40)", "string longer than"),
    ("(() => { const a = []; a[1e9] = 1 })()", "would grow by more than"),
]


@pytest.mark.parametrize(("source", "fragment"), BOUNDED)
def test_runaway_work_fails_with_a_clear_error(source: str, fragment: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        ev(source)
    assert fragment in str(caught.value)


def test_numbers_past_two_to_the_53_become_doubles_so_products_stay_small() -> None:
    # 3 raised to 5**20 as an exact integer would never finish; as doubles it is Infinity (null in JSON).
    assert ev("Array(20).fill(0).reduce(a => a * a * a * a * a, 3)") is None
    assert ev("2 ** 53 + 2") == 9007199254740994


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=-1000, max_value=1000), max_size=30))
def test_array_methods_agree_with_their_definitions(xs: list[int]) -> None:
    arr = json.dumps(xs)
    assert ev(f"{arr}.sort((a, b) => a - b)") == sorted(xs)
    assert ev(f"{arr}.reduce((a, b) => a + b, 0)") == sum(xs)
    assert ev(f"[...{arr}, ...{arr}]") == xs + xs
    assert ev(f"{arr}.filter(x => x % 2 === 0).length") == sum(1 for x in xs if x % 2 == 0)
    assert ev(f"Math.max(...{arr})") == (max(xs) if xs else None)  # -Infinity for none: null in JSON
    assert ev(f"{arr}.findIndex(x => x > 0)") == next((i for i, x in enumerate(xs) if x > 0), -1)
    assert ev(f"[...new Set({arr})].length") == len(set(xs))


_TOKENS = ["x", "y", "=>", "(", ")", "{", "}", "[", "]", "...", ",", ";", "\n", "const", "let", "return", "if",
           "else", "function", "new", "Set", "Map", "Array", "1", "2", "'a'", "/a+/g", "/", "+", "-", "*", "=",
           "+=", "??=", "===", "?", ":", "?.", ".", "map", "filter", "reduce", "sort", "push", "length", "$json",
           "tags", "people", "Math", "max", "Object", "entries", "split", "replace", "match"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_TOKENS), max_size=24))
def test_any_token_soup_evaluates_or_fails_with_the_engines_own_error(tokens: list[str]) -> None:
    try:
        ev(" ".join(tokens))
    except ExpressionError as err:
        assert "internal error" not in str(err)


def _set_node(name: str, fields: dict[str, tuple[str, str]], x: int) -> dict[str, Any]:
    assignments = [{"id": f"{name}-{k}", "name": k, "value": v, "type": t} for k, (t, v) in fields.items()]
    return {"parameters": {"assignments": {"assignments": assignments}, "options": {}}, "name": name,
            "type": "n8n-nodes-base.set", "typeVersion": 3.4, "position": [x, 0], "id": f"id-{name}"}


def test_a_workflow_runs_set_nodes_written_with_functions_spread_and_regexes() -> None:
    orders = [{"id": "A", "total": 5}, {"id": "B", "total": 20}, {"id": "C", "total": 12}]
    doc = {
        "nodes": [
            {"parameters": {}, "name": "Trigger", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1,
             "position": [0, 0], "id": "id-trigger"},
            _set_node("Shape", {
                "top": ("array", "={{ $json.orders.sort((a, b) => b.total - a.total).map(o => o.id) }}"),
                "emails": ("array", "={{ $json.note.match(/[\\w.]+@[\\w.]+/g) }}"),
                "sum": ("number", "={{ $json.orders.reduce((s, { total }) => s + total, 0) }}"),
                "label": ("string", "=cheapest {{ [...$json.orders].sort((a, b) => a.total - b.total)[0].id }}, "
                                    "{{ $json.note.replace(/\\s+/g, ' ').split(' ').length }} words"),
                "byId": ("object", "={{ Object.fromEntries($json.orders.map(({ id, ...rest }) => [id, rest])) }}"),
            }, 200),
            _set_node("Later", {
                "original": ("array", "={{ $('Trigger').item.json.orders.map(o => o.id) }}"),
            }, 400),
        ],
        "connections": {
            "Trigger": {"main": [[{"node": "Shape", "type": "main", "index": 0}]]},
            "Shape": {"main": [[{"node": "Later", "type": "main", "index": 0}]]},
        },
        "pinData": {"Trigger": [{"json": {"orders": orders, "note": "mail  ann@x.org or\n bo@y.io"}}]},
    }
    finish, state = run(parse_workflow(json.dumps(doc).encode()))
    assert finish.status == "completed"
    assert outputs(state, "Shape") == [[{
        "top": ["B", "C", "A"], "emails": ["ann@x.org", "bo@y.io"], "sum": 37, "label": "cheapest A, 4 words",
        "byId": {"A": {"total": 5}, "B": {"total": 20}, "C": {"total": 12}},
    }]]
    # Shape sorted its input in the expression; the trigger's items, which Later reads, kept their order.
    assert outputs(state, "Later") == [[{"original": ["A", "B", "C"]}]]
    assert outputs(state, "Trigger") == [[{"orders": orders, "note": "mail  ann@x.org or\n bo@y.io"}]]
