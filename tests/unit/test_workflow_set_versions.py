"""The Set (Edit Fields) node per typeVersion, as n8n's source runs it: Set/v1/SetV1.node.ts (v1, v2), and
Set/v2/SetV2.node.ts with manual.mode.ts, raw.mode.ts and helpers/utils.ts (v3 to v3.4); expected values follow
that code and n8n-workflow's type-validation.ts."""

from __future__ import annotations

from typing import Any

import pytest

from core.workflows.context import RunView
from core.workflows.errors import NodeFailed
from core.workflows.items import Item
from core.workflows.model import Node
from core.workflows.node_set import run_set
from core.workflows.outcomes import ItemErrors
from tests.unit.workflow_support import upload_problems

Json = dict[str, Any]
IN = {"z": 1, "q": {"r": 2, "s": 3}, "t": "keep"}


def set_items(version: float, parameters: Json, items: list[Json] | None = None, binary: Json | None = None,
              continues: bool = False) -> list[Item]:
    node = Node(name="Set", type="n8n-nodes-base.set", type_version=version, parameters=parameters)
    rows = [Item(json=j, binary=binary) for j in (items if items is not None else [IN])]
    return run_set(node, rows, RunView(), ItemErrors(node) if continues else None)[0]


def set_json(version: float, parameters: Json, items: list[Json] | None = None) -> list[Json]:
    return [i.json for i in set_items(version, parameters, items)]


# -- v1 and v2 ------------------------------------------------------------------------------------------------------

VALUES = {"values": {"string": [{"name": "a", "value": "x"}], "number": [{"name": "n", "value": "5"}],
                     "boolean": [{"name": "b", "value": "yes"}]}}


@pytest.mark.parametrize(("version", "parameters", "expected"), [
    # Booleans by JavaScript truthiness; v1 keeps a number's text, v2 makes it a number.
    (1, VALUES, {**IN, "b": True, "n": "5", "a": "x"}),
    (2, VALUES, {**IN, "b": True, "n": 5, "a": "x"}),
    (2, {**VALUES, "keepOnlySet": True}, {"b": True, "n": 5, "a": "x"}),
    (2, {"values": {"number": [{"name": "n", "value": "5px"}]}}, {**IN, "n": "5px"}),
    # Omitted names and values are n8n's defaults; a later type of the same name wins (strings come last).
    (1, {"values": {"boolean": [{}], "number": [{"name": "m"}], "string": [{"name": "s"}]}},
     {**IN, "propertyName": False, "m": 0, "s": ""}),
    (1, {"values": {"string": [{"name": "f", "value": "s"}], "boolean": [{"name": "f", "value": True}]}},
     {**IN, "f": "s"}),
    (1, {"values": {"string": [{"name": "q.s", "value": "new"}, {"name": "list[1].x", "value": "y"}]}},
     {**IN, "q": {"r": 2, "s": "new"}, "list": [None, {"x": "y"}]}),
    (1, {"values": {"string": [{"name": "q.s", "value": "new"}]}, "options": {"dotNotation": False}},
     {**IN, "q.s": "new"}),
])
def test_v1_v2(version: float, parameters: Json, expected: Json) -> None:
    assert set_json(version, parameters) == [expected]


def test_v1_keeps_binary_unless_only_set_values_are_kept() -> None:
    assert set_items(1, VALUES, binary={"data": {"mimeType": "x"}})[0].binary == {"data": {"mimeType": "x"}}
    assert set_items(1, {**VALUES, "keepOnlySet": True}, binary={"data": {}})[0].binary is None


# -- v3.0 to v3.2: fields.values ----------------------------------------------------------------------------------

def fields(*entries: Json, **extra: Any) -> Json:
    return {"fields": {"values": list(entries)}, **extra}


@pytest.mark.parametrize(("version", "parameters", "expected"), [
    (3, fields({"name": "s", "stringValue": "x"}, {"name": "n", "type": "numberValue", "numberValue": "12"},
               {"name": "b", "type": "booleanValue", "booleanValue": "false"},
               {"name": "arr", "type": "arrayValue", "arrayValue": "['a', 1]"},
               {"name": "o", "type": "objectValue", "objectValue": "{a: 1, 'b': 'x'}"}, include="none"),
     {"s": "x", "n": 12, "b": False, "arr": ["a", 1], "o": {"a": 1, "b": "x"}}),
    # Values an export leaves out: "", then "" as a number is 0, "true", and the object {}.
    (3.1, fields({"name": "s"}, {"name": "n", "type": "numberValue"}, {"name": "b", "type": "booleanValue"},
                 {"name": "o", "type": "objectValue"}, include="none"),
     {"s": "", "n": 0, "b": True, "o": {}}),
    # A null from an expression: 3.0 writes "null" as text, 3.2 keeps null (3.1 is an error, below).
    (3, fields({"name": "s", "stringValue": "={{ null }}"}, include="none"), {"s": "null"}),
    (3.2, fields({"name": "s", "stringValue": "={{ null }}"}, {"name": "n", "type": "numberValue",
                                                                 "numberValue": "={{ null }}"}, include="none"),
     {"s": None, "n": None}),
    (3.2, fields({"name": "s", "stringValue": "={{ {a: [1]} }}"}, include="none"), {"s": "{\"a\":[1]}"}),
    (3, fields({"name": "n", "type": "numberValue", "numberValue": "abc"}, include="none",
               options={"ignoreConversionErrors": True}), {"n": "abc"}),
    # An object field given as an expression: its text is evaluated piece by piece, then parsed (and mended).
    (3, fields({"name": "o", "type": "objectValue", "objectValue": "={a: {{ $json.z }}, 'b': '{{ $json.t }}',}"},
               include="none"), {"o": {"a": 1, "b": "keep"}}),
    (3, fields({"name": "z", "stringValue": "new"}, include="selected", includeFields="t, q.r"),
     {"t": "keep", "r": 2, "z": "new"}),
    (3, fields({"name": "new", "stringValue": "v"}, include="except", excludeFields="z,q.s"),
     {"q": {"r": 2}, "t": "keep", "new": "v"}),
    (3, fields({"name": "q.s", "stringValue": "v"}, options={"dotNotation": False}), {**IN, "q.s": "v"}),
])
def test_v3_fields(version: float, parameters: Json, expected: Json) -> None:
    assert set_json(version, parameters) == [expected]


@pytest.mark.parametrize(("version", "entry", "message"), [
    (3.1, {"name": "s", "stringValue": "={{ null }}"}, "'s' expects a string but we got 'null' [item 0]"),
    (3, {"name": "n", "type": "numberValue", "numberValue": "abc"}, "'n' expects a number but we got 'abc' [item 0]"),
    (3, {"name": "b", "type": "booleanValue", "booleanValue": "yes"}, "'b' expects a boolean but we got 'yes'"),
    (3, {"name": "a", "type": "arrayValue", "arrayValue": "{}"}, "'a' expects a array but we got '{}'"),
    (3, {"name": "o", "type": "objectValue", "objectValue": "[1]"}, "'o' expects a object but we got '[1]'"),
])
def test_v3_type_errors(version: float, entry: Json, message: str) -> None:
    with pytest.raises(NodeFailed, match=message.replace("[", r"\[").replace("]", r"\]")):
        set_json(version, fields(entry))


# -- v3.3 and later: assignments --------------------------------------------------------------------------------

def assignments(*entries: Json, **extra: Any) -> Json:
    return {"assignments": {"assignments": list(entries)}, **extra}


@pytest.mark.parametrize(("version", "parameters", "expected"), [
    # includeOtherFields is off by default from 3.3 on: only the fields set.
    (3.3, assignments({"name": "n", "type": "number", "value": "12"}), {"n": 12}),
    (3.4, assignments({"name": "n", "type": "number", "value": "12"}, includeOtherFields=True), {**IN, "n": 12}),
    (3.4, assignments({"name": "x", "type": "string", "value": "v"}, includeOtherFields=True, include="except",
                      excludeFields="q"), {"z": 1, "t": "keep", "x": "v"}),
    (3.4, assignments({"name": "a", "type": "array", "value": "[1, 2]"}, {"name": "o", "type": "object",
                                                                          "value": {"k": 1}}),
     {"a": [1, 2], "o": {"k": 1}}),
    # Set in JavaScript's key order: index-like names first ("1" before "1.a"), so "1.a" replaces the text.
    (3.4, assignments({"name": "1.a", "type": "string", "value": "x"}, {"name": "1", "type": "string", "value": "y"}),
     {"1": {"a": "x"}}),
    # A later field of the same name replaces the earlier one.
    (3.4, assignments({"name": "k", "type": "string", "value": "1"}, {"name": "k", "type": "number", "value": "2"}),
     {"k": 2}),
    (3.4, assignments({"name": "=f_{{ $itemIndex }}", "type": "string", "value": "={{ $json.t }}"}),
     {"f_0": "keep"}),
])
def test_v3_3_assignments(version: float, parameters: Json, expected: Json) -> None:
    assert set_json(version, parameters) == [expected]


def test_binary_per_version() -> None:
    one = assignments({"name": "a", "type": "string", "value": "x"})
    data = {"data": {"mimeType": "text/plain"}}
    # Before 3.4 only options.includeBinary keeps it; from 3.4 it stays unless stripped or no input field is kept.
    assert set_items(3.3, {**one, "includeOtherFields": True}, binary=data)[0].binary is None
    assert set_items(3.3, {**one, "options": {"includeBinary": True}}, binary=data)[0].binary == data
    assert set_items(3.4, {**one, "includeOtherFields": True}, binary=data)[0].binary == data
    assert set_items(3.4, one, binary=data)[0].binary is None
    assert set_items(3.4, {**one, "includeOtherFields": True, "options": {"stripBinary": True}},
                     binary=data)[0].binary is None


# -- JSON (raw) mode -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("version", "parameters", "expected"), [
    (3.4, {"mode": "raw", "jsonOutput": "={\"a\": {{ $json.z }}, \"o\": {{ $json.q }}, \"u\": \"{{ $json.none }}\"}"},
     {"a": 1, "o": {"r": 2, "s": 3}, "u": "undefined"}),
    (3.4, {"mode": "raw", "jsonOutput": "{\"x.y\": 1}"}, {"x": {"y": 1}}),
    (3.4, {"mode": "raw", "jsonOutput": "{\"x.y\": 1}", "options": {"dotNotation": False}}, {"x.y": 1}),
    (3.2, {"mode": "raw", "jsonOutput": "{a: 1, 'b': 'c',}"}, {**IN, "a": 1, "b": "c"}),
    (3.4, {"mode": "raw"}, {"my_field_1": "value", "my_field_2": 1}),  # n8n's default JSON
])
def test_raw_mode(version: float, parameters: Json, expected: Json) -> None:
    assert set_json(version, parameters) == [expected]


def test_raw_mode_refuses_what_is_not_an_object() -> None:
    with pytest.raises(NodeFailed, match="'JSON Output' in item 0 does not contain a valid JSON object"):
        set_json(3.4, {"mode": "raw", "jsonOutput": "[1, 2]"})
    with pytest.raises(NodeFailed, match="'JSON Output' in item 0 contains invalid JSON"):
        set_json(3.4, {"mode": "raw", "jsonOutput": "={ nope: {{ $json.t }} }"})


def test_continue_on_fail_turns_only_the_failing_item_into_an_error() -> None:
    items = set_items(3.4, assignments({"name": "n", "type": "number", "value": "={{ $json.v }}"}),
                      [{"v": "1"}, {"v": "x"}], continues=True)
    assert [i.json for i in items] == [{"n": 1}, {"error": "'n' expects a number but we got 'x' [item 1]"}]


# -- upload -----------------------------------------------------------------------------------------------------------

def problems(version: float, parameters: Json) -> list[str]:
    return [field for field, _ in upload_problems("n8n-nodes-base.set", version, parameters, "Set")]


@pytest.mark.parametrize(("version", "parameters", "field"), [
    (3.4, {"mode": "json"}, "$.nodes[1].parameters.mode"),
    (3.4, {"mode": "raw", "jsonOutput": ""}, "$.nodes[1].parameters.jsonOutput"),
    (3.2, {"include": "some"}, "$.nodes[1].parameters.include"),
    (3.4, {"includeOtherFields": True, "include": "some"}, "$.nodes[1].parameters.include"),
    (3.1, fields({"name": "f", "type": "dateValue"}), "$.nodes[1].parameters.fields.values[0].type"),
    (3.4, assignments({"name": "f", "type": "binary", "value": "data"}),
     "$.nodes[1].parameters.assignments.assignments[0].type"),
])
def test_upload_refuses(version: float, parameters: Json, field: str) -> None:
    assert problems(version, parameters) == [field]


def test_upload_accepts_every_version_s_own_form() -> None:
    assert problems(1, VALUES) == []
    assert problems(3.3, {"mode": "raw"}) == []  # left out, JSON Output is n8n's default
    assert problems(3.2, fields({"name": "a", "stringValue": "x"}, include="selected", includeFields="a")) == []
    assert problems(3.4, assignments({"name": "a", "type": "string", "value": "x"}, includeOtherFields=False,
                                     include="nonsense")) == []  # include is hidden (and unused) without other fields
