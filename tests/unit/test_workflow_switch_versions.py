"""Switch v1 and v2 as n8n's SwitchV1/SwitchV2 run them: the Switch nodes of n8n's own test workflows
(packages/nodes-base/nodes/Switch/V1|V2/test/*.workflow.json) with their expected outputs, then one case per data
type and operation, fallbacks, output ranges, and the problems found at upload."""

from __future__ import annotations

from typing import Any

import pytest

from core.workflows.errors import InvalidWorkflow
from core.workflows.model import parse_workflow
from core.workflows.node_misc import TriggerInput
from core.workflows.node_switch import output_names, switch_output_count
from core.workflows.validate import validate
from tests.unit.workflow_support import outputs, run

TRIGGER = {"parameters": {}, "name": "When clicking \"Execute Workflow\"", "type": "n8n-nodes-base.manualTrigger",
           "typeVersion": 1, "position": [-8460, 1740]}


def switch(version: int, parameters: dict[str, Any]) -> dict[str, Any]:
    return {"parameters": parameters, "id": "176e3656-28fb-45b9-9ac5-385c4c544d9e", "name": "Switch",
            "type": "n8n-nodes-base.switch", "typeVersion": version, "position": [-7900, 1740]}


def workflow(node: dict[str, Any]) -> Any:
    return parse_workflow({"nodes": [TRIGGER, node], "connections": {
        TRIGGER["name"]: {"main": [[{"node": "Switch", "type": "main", "index": 0}]]}}})


def route(version: int, parameters: dict[str, Any], items: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    finish, state = run(workflow(switch(version, parameters)), given=TriggerInput(items=[{"json": j} for j in items]))
    assert finish.status == "completed", finish.error
    return outputs(state, "Switch")


def failure(version: int, parameters: dict[str, Any], items: list[dict[str, Any]]) -> str:
    finish, state = run(workflow(switch(version, parameters)), given=TriggerInput(items=[{"json": j} for j in items]))
    assert finish.status == "failed"
    return finish.error or ""


# n8n's V1 test workflow "switch.rules.workflow.json": number rules, the first with operation and value2 left at
# their defaults (so equal to 0), fallback to output 3.
V1_RULES = {"value1": "={{ $json.data }}", "rules": {"rules": [
    {"operation": "equal"}, {"operation": "equal", "value2": 1, "output": 1},
    {"operation": "equal", "value2": 2, "output": 2}]}, "fallbackOutput": 3}
# n8n's V2 test workflow "switch.rules.workflow.json": string rules with output keys, fallback to the third rule's output.
V2_RULES = {"dataType": "string", "value1": "={{ $json.output }}", "rules": {"rules": [
    {"value2": "first", "outputKey": "First Output"}, {"value2": "second", "outputKey": "Second Output"},
    {"value2": "third", "outputKey": "Third Output"}]}, "fallbackOutput": 2}
WORDS = [{"output": w, "text": f"{w} output text"} for w in ("third", "fourth", "first", "second")]


def test_n8n_v1_rules_test_workflow() -> None:
    assert route(1, V1_RULES, [{"data": n} for n in range(4)]) == [[{"data": 0}], [{"data": 1}], [{"data": 2}],
                                                                   [{"data": 3}]]


def test_n8n_v1_expression_test_workflow() -> None:
    got = route(1, {"mode": "expression", "output": "={{ $json.data }}"}, [{"data": n} for n in range(4)])
    assert got == [[{"data": 0}], [{"data": 1}], [{"data": 2}], [{"data": 3}]]


def test_n8n_v1_regex_test_workflow() -> None:
    params = {"dataType": "string", "value1": "={{ $json.name }}", "rules": {"rules": [
        {"operation": "regex", "value2": "/^alpha-\\d+$/", "output": 0},
        {"operation": "notRegex", "value2": "/^alpha/", "output": 1}]}, "fallbackOutput": -1}
    assert route(1, params, [{"name": "alpha-123"}, {"name": "beta"}]) == [
        [{"name": "alpha-123"}], [{"name": "beta"}], [], []]


def test_n8n_v2_rules_test_workflow() -> None:
    assert route(2, V2_RULES, WORDS) == [[WORDS[2]], [WORDS[3]], [WORDS[0], WORDS[1]]]


def test_n8n_v2_expression_test_workflow() -> None:
    params = {"mode": "expression", "output": "={{ Math.max(0, ['first', 'second', 'third'].indexOf( $json.output)) }}",
              "outputsAmount": 3}
    assert route(2, params, WORDS) == [[WORDS[1], WORDS[2]], [WORDS[3]], [WORDS[0]]]


def rule_case(data_type: str, operation: str, value2: Any) -> dict[str, Any]:
    return {"dataType": data_type, "value1": "={{ $json.v }}",
            "rules": {"rules": [{"operation": operation, "value2": value2, "output": 1}]}}


@pytest.mark.parametrize(("data_type", "operation", "value2", "v", "matches"), [
    ("number", "smaller", 5, 3, True), ("number", "smaller", 5, 5, False), ("number", "smallerEqual", 5, 5, True),
    ("number", "larger", 5, 7, True), ("number", "largerEqual", 5, 4, False), ("number", "notEqual", 5, 4, True),
    ("number", "equal", 5, "5", False),  # === : a string is not the number
    ("number", "larger", 0, None, False),  # (null || 0) > 0
    ("string", "contains", "ell", "hello", True), ("string", "notContains", "ell", "hello", False),
    ("string", "startsWith", "he", "hello", True), ("string", "notStartsWith", "he", "hello", False),
    ("string", "endsWith", "lo", "hello", True), ("string", "notEndsWith", "lo", "hello", False),
    ("string", "equal", "Hello", "hello", False), ("string", "notEqual", "Hello", "hello", True),
    ("string", "regex", "/^HEL/i", "hello", True), ("string", "regex", "^HEL", "hello", False),
    ("string", "notRegex", "l+", "hello", False), ("string", "contains", "", None, True),
    ("boolean", "equal", True, True, True), ("boolean", "equal", True, "true", False),
    ("boolean", "notEqual", False, True, True),
    ("dateTime", "after", "2024-01-01T00:00:00Z", "2024-06-01", True),
    ("dateTime", "before", "2024-01-01T00:00:00Z", "2024-06-01", False),
    ("dateTime", "after", "2024-01-01", 1_800_000_000_000, True),  # milliseconds compare with dates
])
def test_v1_operations(data_type: str, operation: str, value2: Any, v: Any, matches: bool) -> None:
    got = route(1, rule_case(data_type, operation, value2), [{"v": v}])
    assert got == ([[], [{"v": v}], [], []] if matches else [[], [], [], []])


def test_defaults_left_out_of_an_export() -> None:
    # number is the default dataType and smaller its default operation; value2 defaults to 0, output to 0.
    assert route(1, {"value1": "={{ $json.v }}", "rules": {"rules": [{}]}}, [{"v": -1}, {"v": 1}]) == [
        [{"v": -1}], [], [], []]
    # dateTime's default operation is after, and its value2 defaults to 0 (the epoch).
    assert route(1, {"dataType": "dateTime", "value1": "2020-05-05", "rules": {"rules": [{"output": 2}]}},
                 [{}]) == [[], [], [{}], []]


def test_the_first_matching_rule_wins_and_v2_ignores_a_rule_output() -> None:
    params = {"value1": "={{ $json.v }}", "rules": {"rules": [
        {"operation": "larger", "value2": 1, "output": 3}, {"operation": "larger", "value2": 0, "output": 2}]}}
    assert route(1, params, [{"v": 2}, {"v": 1}]) == [[], [], [{"v": 1}], [{"v": 2}]]
    assert route(2, params, [{"v": 2}, {"v": 1}]) == [[{"v": 2}], [{"v": 1}]]


def test_output_counts_and_names() -> None:
    assert switch_output_count(workflow(switch(1, {})).node("Switch")) == 4
    assert switch_output_count(workflow(switch(2, V2_RULES)).node("Switch")) == 3
    assert switch_output_count(workflow(switch(2, {"mode": "expression"})).node("Switch")) == 4
    assert switch_output_count(workflow(switch(2, {"mode": "expression", "outputsAmount": 2})).node("Switch")) == 2
    assert output_names(workflow(switch(2, V2_RULES)).node("Switch")) == ["First Output", "Second Output",
                                                                          "Third Output"]
    assert output_names(workflow(switch(1, V1_RULES)).node("Switch")) is None


@pytest.mark.parametrize(("version", "parameters", "items", "message"), [
    (1, {"mode": "expression", "output": "={{ $json.v }}"}, [{"v": 4}], "between 0 and 3"),
    (2, {"mode": "expression", "output": "={{ $json.v }}", "outputsAmount": 2}, [{"v": 2}], "between 0 and 1"),
    (2, {"mode": "expression", "output": "={{ $json.v }}"}, [{"v": "one"}], "'one' is not allowed"),
    (1, rule_case("dateTime", "after", "2024-01-01"), [{"v": "not a date"}], "not a valid DateTime"),
    (1, rule_case("string", "startsWith", "1"), [{"v": 12}], "is not a string"),
    (1, {**rule_case("number", "equal", 1), "fallbackOutput": "={{ 7 }}"}, [{"v": 2}], "between 0 and 3"),
])
def test_items_that_cannot_be_routed_fail_the_node(version: int, parameters: dict[str, Any],
                                                    items: list[dict[str, Any]], message: str) -> None:
    assert message in failure(version, parameters, items)


def test_a_v1_expression_output_may_be_left_at_its_default() -> None:
    validate(workflow(switch(1, {"mode": "expression"})))
    assert route(1, {"mode": "expression"}, [{"a": 1}]) == [[{"a": 1}], [], [], []]


def test_upload_names_what_cannot_run() -> None:
    nodes = [
        switch(1, {"dataType": "text"}),
        {**switch(1, {"dataType": "boolean", "rules": {"rules": [{"operation": "larger"}, {"output": 4}]},
                      "fallbackOutput": 5}), "name": "S2"},
        {**switch(2, {"mode": "expression"}), "name": "S3"},
        {**switch(1, {"mode": "random"}), "name": "S4"},
    ]
    with pytest.raises(InvalidWorkflow) as caught:
        validate(parse_workflow({"nodes": [TRIGGER, *nodes], "connections": {}}))
    found = {(p.node, p.field): p.message for p in caught.value.problems}
    assert "unknown dataType 'text'" in found[("Switch", "$.nodes[1].parameters.dataType")]
    assert "unknown boolean operation 'larger'" in found[("S2", "$.nodes[2].parameters.rules.rules[0].operation")]
    assert "between 0 and 3" in found[("S2", "$.nodes[2].parameters.rules.rules[1].output")]
    assert "fallback output 5" in found[("S2", "$.nodes[2].parameters.fallbackOutput")]
    assert found[("S3", "$.nodes[3].parameters.output")] == "required parameter output is missing"
    assert "unknown mode 'random'" in found[("S4", "$.nodes[4].parameters.mode")]
