"""The If node per typeVersion, as n8n's source runs it: If/V1/IfV1.node.ts (JavaScript's operators on the raw
values, per data type, short-circuiting) and If/V2/IfV2.node.ts over n8n-workflow's filter-parameter.ts (2, 2.1,
2.2: typed conditions, strict or loose, filter version 2's booleans)."""

from __future__ import annotations

from typing import Any

import pytest

from core.workflows.conditions import filter_passes
from core.workflows.context import RunView
from core.workflows.errors import NodeFailed
from core.workflows.items import Item
from core.workflows.model import Node
from core.workflows.node_flow import run_if
from tests.unit.workflow_support import upload_problems

Json = dict[str, Any]


def route(version: float, parameters: Json, items: list[Json], continues: bool = False) -> list[list[Json]]:
    node = Node(name="If", type="n8n-nodes-base.if", type_version=version, parameters=parameters)
    outputs = run_if(node, [Item(json=j) for j in items], RunView(), continue_on_fail=continues)
    return [[i.json for i in out] for out in outputs]


def passes(version: float, parameters: Json, item: Json | None = None) -> bool:
    true, _ = route(version, parameters, [item or {}])
    return bool(true)


# -- v1 ---------------------------------------------------------------------------------------------------------------

def v1(kind: str, **condition: Any) -> Json:
    return {"conditions": {kind: [condition]}}


@pytest.mark.parametrize(("parameters", "expected"), [
    # Equality is JavaScript's ===: no conversion between text and numbers.
    (v1("number", value1="={{ $json.s }}", operation="equal", value2=5), False),
    (v1("number", value1="={{ $json.n }}", operation="equal", value2=5), True),
    (v1("string", value1="={{ $json.n }}", operation="equal", value2="5"), False),
    (v1("number", value1="={{ $json.n }}"), False),  # omitted: operation smaller, value2 0
    (v1("number", value1=-1), True),
    (v1("boolean", value1=True), False),  # omitted: equal to false
    (v1("number", value1="={{ $json.s }}", operation="larger", value2=4), True),  # "5" > 4 as numbers
    (v1("string", value1="b", operation="larger", value2="a"), True),  # text compares as text
    (v1("number", value1="={{ $json.none }}", operation="larger", value2=-1), True),  # (undefined || 0) > -1
    (v1("string", value1="={{ $json.list }}", operation="contains", value2="2"), True),  # "1,2".includes("2")
    (v1("string", value1="ABc", operation="regex", value2="/^ab/i"), True),
    (v1("string", value1="ABc", operation="notRegex", value2="^ab"), True),
    (v1("string", value1="={{ $json.list }}", operation="isEmpty"), False),
    (v1("string", value1="={{ $json.empty }}", operation="isEmpty"), True),
    (v1("number", value1=0, operation="isEmpty"), False),
    (v1("dateTime", value1="2024-01-02", value2="2024-01-01T12:00:00Z"), True),  # omitted: after
    (v1("dateTime", value1=1_700_000_000_000, operation="before", value2="2024-01-01"), True),
])
def test_v1_conditions(parameters: Json, expected: bool) -> None:
    item = {"s": "5", "n": 5, "list": [1, 2], "empty": {}}
    assert passes(1, parameters, item) is expected


def test_v1_combines_in_type_order_and_stops_when_the_answer_is_known() -> None:
    bad_date = [{"value1": "not a date", "value2": "2024-01-01"}]
    good = [{"value1": 1, "operation": "equal", "value2": 1}]
    # boolean conditions come first, then dateTime, number, string.
    anyone = {"conditions": {"boolean": [{"value1": True, "value2": True}], "dateTime": bad_date},
              "combineOperation": "any"}
    assert passes(1, anyone)
    failing_first = {"conditions": {"boolean": [{"value1": True}], "dateTime": bad_date}}
    assert not passes(1, failing_first)
    with pytest.raises(NodeFailed, match='The value "not a date" is not a valid DateTime'):
        passes(1, {"conditions": {"number": good, "dateTime": bad_date}})
    assert not passes(1, {"conditions": {}, "combineOperation": "any"})
    assert passes(1, {"conditions": {}})


def test_v1_text_methods_on_a_number_fail() -> None:
    with pytest.raises(NodeFailed, match="startsWith"):
        passes(1, v1("string", value1="={{ $json.n }}", operation="startsWith", value2="5"), {"n": 5})


# -- v2.x -------------------------------------------------------------------------------------------------------------

def v2(*conditions: Json, combinator: str = "and", **options: Any) -> Json:
    return {"conditions": {"options": {"caseSensitive": True, "leftValue": "", "typeValidation": "strict", **options},
                           "conditions": list(conditions), "combinator": combinator}}


def cond(left: Any, kind: str, operation: str, right: Any = "", **operator: Any) -> Json:
    return {"leftValue": left, "rightValue": right, "operator": {"type": kind, "operation": operation, **operator}}


@pytest.mark.parametrize(("version", "parameters", "expected"), [
    (2, v2(cond("={{ $json.n }}", "number", "gt", 4)), True),
    (2, v2(cond("={{ $json.s }}", "number", "equals", 5), typeValidation="loose"), True),
    (2.1, {**v2(cond("={{ $json.s }}", "number", "equals", 5)), "looseTypeValidation": True}, True),
    (2, {**v2(cond("={{ $json.s }}", "number", "equals", 5)), "options": {"looseTypeValidation": True}}, True),
    # Loose booleans: filter version 1 uses JavaScript's Boolean("false") (true), version 2 (If 2.2) parses it.
    (2.1, v2(cond("false", "boolean", "true", singleValue=True), typeValidation="loose"), True),
    (2.2, v2(cond("false", "boolean", "true", singleValue=True), typeValidation="loose", version=2), False),
    (2, v2(cond("ABC", "string", "equals", "abc")), False),
    (2, v2(cond("ABC", "string", "equals", "abc"), caseSensitive=False), True),
    (2, {"conditions": {"options": {}, "combinator": "and",
                        "conditions": [cond("ABC", "string", "equals", "abc")]}}, True),  # no caseSensitive: ignored
    (2, v2(cond("ABC", "string", "regex", "/^a.c$/i")), True),
    (2, v2(cond("={{ $json.none }}", "string", "exists", singleValue=True)), False),
    (2, v2(cond("={{ $json.zero }}", "number", "notExists", singleValue=True)), False),
    (2, v2(cond("={{ $json.nil }}", "number", "gt", -1)), True),  # null > -1 in JavaScript
    (2, v2(cond("={{ $json.list }}", "array", "contains", "B", rightType="any"), caseSensitive=False), True),
    (2, v2(cond("={{ $json.objects }}", "array", "contains", "={{ {a: 1} }}", rightType="any")), False),
    (2, v2(cond("={{ $json.list }}", "array", "lengthGte", 2, rightType="number")), True),
    (2, v2(cond("2024-01-02T00:00:00Z", "dateTime", "after", "2024-01-01")), True),
    (2, v2(cond("={{ $json.empty }}", "object", "empty", singleValue=True)), True),
])
def test_v2_conditions(version: float, parameters: Json, expected: bool) -> None:
    item = {"n": 5, "s": "5", "zero": 0, "nil": None, "list": ["a", "b"], "objects": [{"a": 1}], "empty": {}}
    assert passes(version, parameters, item) is expected


@pytest.mark.parametrize(("parameters", "message"), [
    (v2(cond("={{ $json.n }}", "string", "equals", "5")),
     "Wrong type: '5' is a number but was expecting a string [condition 0, item 0]"),
    (v2(cond("={{ $json.s }}", "number", "equals", "x"), typeValidation="loose"),
     "Conversion error: the string 'x' can't be converted to a number [condition 0, item 0]"),
    (v2(cond("a", "number", "equals", "b")), "Comparison type expects a number but both fields are a string"),
    # An `or` whose first condition fails goes on to the second, here of the wrong type.
    (v2(cond(1, "number", "equals", 2), cond("x", "number", "equals", 2), combinator="or"),
     "Wrong type: 'x' is a string but was expecting a number [condition 1, item 0]"),
])
def test_v2_type_errors(parameters: Json, message: str) -> None:
    with pytest.raises(NodeFailed, match=message.replace("[", r"\[").replace("]", r"\]")):
        passes(2, parameters, {"n": 5, "s": "5"})


def test_v2_short_circuits_and_routes_a_failing_item_to_false_when_continuing() -> None:
    either = v2(cond(1, "number", "equals", 1), cond("x", "number", "equals", 1), combinator="or")
    assert passes(2, either)
    strict = v2(cond("={{ $json.v }}", "number", "equals", 1))
    assert route(2, strict, [{"v": 1}, {"v": "1"}, {"v": 2}], continues=True) == [[{"v": 1}], [{"v": "1"}, {"v": 2}]]


def test_a_value_that_is_not_a_filter_counts_by_truthiness() -> None:
    assert filter_passes({}) is True
    assert filter_passes({"conditions": [], "combinator": "xor", "options": {}}) is False


# -- upload -----------------------------------------------------------------------------------------------------------

def problems(version: float, parameters: Json) -> list[str]:
    return [field for field, _ in upload_problems("n8n-nodes-base.if", version, parameters, "If")]


@pytest.mark.parametrize(("version", "parameters", "field"), [
    (1, v1("number", value1=1, operation="gt"), "$.nodes[1].parameters.conditions.number[0].operation"),
    (1, {"conditions": {}, "combineOperation": "some"}, "$.nodes[1].parameters.combineOperation"),
    (2.2, v2(cond(1, "number", "after", 2)), "$.nodes[1].parameters.conditions.conditions[0].operator.operation"),
    (2, v2(cond(1, "integer", "equals", 2)), "$.nodes[1].parameters.conditions.conditions[0].operator.type"),
    (2, v2(cond(1, "number", "equals", 2), combinator="xor"), "$.nodes[1].parameters.conditions.combinator"),
])
def test_upload_refuses(version: float, parameters: Json, field: str) -> None:
    assert problems(version, parameters) == [field]


def test_upload_accepts() -> None:
    assert problems(1, v1("string", value1="a", operation="notRegex", value2="b")) == []
    assert problems(2.2, v2(cond(1, "number", "gte", 2), cond("a", "string", "notStartsWith", "b"))) == []
