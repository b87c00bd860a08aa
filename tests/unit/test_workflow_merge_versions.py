"""The Merge node per typeVersion, against n8n's own test workflows (packages/nodes-base/nodes/Merge/test/node/
*.json, whose pinData are the expected outputs) and against what n8n's source does (Merge/v1/MergeV1.node.ts,
Merge/v2/MergeV2.node.ts and v2/utils.ts, Merge/v3/actions/mode/*.ts and v3/helpers/utils.ts); then what upload
refuses."""

from __future__ import annotations

from typing import Any

import pytest

from core.workflows.context import RunView
from core.workflows.errors import NodeFailed
from core.workflows.items import Item
from core.workflows.model import Node
from core.workflows.node_merge import run_merge
from tests.unit.workflow_support import upload_problems

Json = dict[str, Any]


def merge_items(version: float, parameters: Json, *inputs: list[Json]) -> list[Item]:
    node = Node(name="Merge", type="n8n-nodes-base.merge", type_version=version, parameters=parameters)
    rows = [[Item(json=j, paired={f"In{k + 1}": [0, i]}) for i, j in enumerate(items)] for k, items in enumerate(inputs)]
    return run_merge(node, rows, RunView())[0]


def merge(version: float, parameters: Json, *inputs: list[Json]) -> list[Json]:
    return [item.json for item in merge_items(version, parameters, *inputs)]


# -- n8n's test workflows ----------------------------------------------------------------------------------------

# workflow.combine.mergeByFields.json (Merge v2): the two Code nodes' items, and each Merge node's pinData.
A = [{"id": 1, "data": "a", "input": 1, "text": "foo"}, {"id": 2, "data": "b", "input": 1, "text": "foo"}]
B = [{"id": 1, "data": "c", "input": 2, "tag": "second"}, {"id": 2, "data": "d", "input": 2, "tag": "second"},
     {"id": 3, "data": "e", "input": 2, "tag": "second"}]
BY_ID = {"mode": "combine", "mergeByFields": {"values": [{"field1": "id", "field2": "id"}]}, "options": {}}
C1, C2, E3 = ({**B[0], "text": "foo"}, {**B[1], "text": "foo"}, B[2])


@pytest.mark.parametrize(("extra", "expected"), [
    ({}, [C1, C2]),
    ({"joinMode": "keepNonMatches"}, [{**B[2], "_source": "input2"}]),
    ({"joinMode": "keepEverything"}, [C1, C2, E3]),
    ({"joinMode": "enrichInput1"}, [C1, C2]),
    ({"joinMode": "enrichInput2"}, [{**A[0], "tag": "second"}, {**A[1], "tag": "second"}, E3]),
    ({"outputDataFrom": "input1"}, A),
    ({"outputDataFrom": "input2"}, B[:2]),
    ({"options": {"clashHandling": {"values": {"resolveClash": "addSuffix"}}}},
     [{"id_1": 1, "data_1": "a", "input_1": 1, "text_1": "foo", "id_2": 1, "data_2": "c", "input_2": 2,
       "tag_2": "second"},
      {"id_1": 2, "data_1": "b", "input_1": 1, "text_1": "foo", "id_2": 2, "data_2": "d", "input_2": 2,
       "tag_2": "second"}]),
])
def test_n8n_combine_merge_by_fields_workflow(extra: Json, expected: list[Json]) -> None:
    assert merge(2, {**BY_ID, **extra}, A, B) == expected


# workflow.combine.multiplex.json and workflow.combine.mergeByPosition.json (Merge v2).
X = [{"id": 1, "data": "a", "input": 1}, {"id": 2, "data": "b", "input": 1}]
Y = [{"id": 1, "data": "c", "input": 2}, {"id": 2, "data": "d", "input": 2}]


def clash(resolve: str, **options: Any) -> Json:
    return {"clashHandling": {"values": {"resolveClash": resolve}}, **options}


def test_n8n_combine_multiplex_workflow() -> None:
    params = {"mode": "combine", "combinationMode": "multiplex"}
    assert merge(2, {**params, "options": clash("addSuffix")}, X, Y) == [
        {"id_1": a["id"], "data_1": a["data"], "input_1": 1, "id_2": b["id"], "data_2": b["data"], "input_2": 2}
        for a in X for b in Y]
    # preferInput1 swaps the inputs: the outer loop runs over input 2, and input 1's values win.
    assert merge(2, {**params, "options": clash("preferInput1")}, X, Y) == [X[0], X[1], X[0], X[1]]
    assert merge(2, {**params, "options": clash("preferInput2")}, X, Y) == [Y[0], Y[1], Y[0], Y[1]]


def test_n8n_combine_merge_by_position_workflow() -> None:
    params = {"mode": "combine", "combinationMode": "mergeByPosition"}
    three = [*Y, {"id": 3, "data": "e", "input": 2}]
    assert merge(2, {**params, "options": clash("addSuffix")}, X, three) == [
        {"id_1": 1, "data_1": "a", "input_1": 1, "id_2": 1, "data_2": "c", "input_2": 2},
        {"id_1": 2, "data_1": "b", "input_1": 1, "id_2": 2, "data_2": "d", "input_2": 2}]
    assert merge(2, {**params, "options": clash("preferInput1")}, X, three) == X
    assert merge(2, {**params, "options": clash("preferInput2", includeUnpaired=True)}, X, three) == three


def test_n8n_choose_branch_workflow() -> None:
    first, second = [{"id": 1}, {"id": 2}, {"id": 3}], [{"id": 4}, {"id": 5}, {"id": 6}]
    assert merge(2, {"mode": "chooseBranch"}, first, second) == first
    assert merge(2, {"mode": "chooseBranch", "output": "input2"}, first, second) == second
    empty = merge_items(2, {"mode": "chooseBranch", "output": "empty"}, first, second)
    assert [i.json for i in empty] == [{}]
    assert {"In1", "In2"} <= set(empty[0].paired)  # paired with the items it waited for


# workflow.keep_non_matches.json (Merge v2.1): "Mock data A" has ten people, "Mock data B" none.
PEOPLE = [{"id": n, "first_name": f"P{n}"} for n in range(1, 11)]
NON_MATCHES = {**BY_ID, "joinMode": "keepNonMatches"}


@pytest.mark.parametrize(("output", "inputs", "expected"), [
    ("both", (PEOPLE, []), PEOPLE),                 # Merge: empty input 2, everything of input 1 as it is
    ("both", ([], PEOPLE), PEOPLE),                 # Merge1
    ("input1", (PEOPLE, []), PEOPLE),               # Merge2
    ("input1", ([], PEOPLE), []),                   # Merge3 (its alwaysOutputData then gives one empty item)
    ("input2", (PEOPLE, []), []),                   # Merge4 (likewise)
    ("input2", ([], PEOPLE), PEOPLE),               # Merge5
])
def test_n8n_keep_non_matches_workflow(output: str, inputs: tuple[list[Json], list[Json]],
                                       expected: list[Json]) -> None:
    assert merge(2.1, {**NON_MATCHES, "outputDataFrom": output}, *inputs) == expected


def test_n8n_update_2_1_workflow() -> None:
    """workflow.update_2_1.json: a field no item has is an error in v2 (the node continues on fail there, so its
    input goes on) and is no match in v2.1 (here input 2 is empty: no output, then alwaysOutputData's item)."""
    params = {"mode": "combine", "mergeByFields": {"values": [{"field1": "idd", "field2": "idd"}]}, "options": {}}
    ids = [{"id": n} for n in range(1, 5)]
    with pytest.raises(NodeFailed, match="Field 'idd' is not present in any of items in 'Input 1'"):
        merge(2, params, ids, [])
    assert merge(2.1, params, ids, []) == []


# -- v1 (MergeV1.node.ts) ------------------------------------------------------------------------------------------

L = [{"k": 1, "v": "l1", "x": ""}, {"k": "2", "v": "l2"}, {"v": "l3"}, {"k": True, "v": "l4"}, {"k": 9, "v": "l5"}]
R = [{"key": 1, "v": "r1", "x": "r"}, {"key": 2, "v": "r2", "extra": 1}, {"key": 0, "v": "r0"}]
KEYS = {"propertyName1": "k", "propertyName2": "key"}


@pytest.mark.parametrize(("parameters", "expected"), [
    ({}, [*L, *R]),  # append
    # Keys compare as JavaScript object keys (1 and "2" match key 1 and 2); booleans and missing keys never match.
    ({"mode": "keepKeyMatches", **KEYS}, [L[0], L[1]]),
    ({"mode": "removeKeyMatches", **KEYS}, [L[2], L[3], L[4]]),
    ({"mode": "mergeByKey", **KEYS}, [{"k": 1, "v": "r1", "x": "r"}, {"k": "2", "v": "r2", "extra": 1}, L[4]]),
    ({"mode": "mergeByKey", **KEYS, "overwrite": "blank"}, [{"k": 1, "v": "l1", "x": "r"},
                                                            {"k": "2", "v": "l2", "extra": 1}, L[4]]),
    ({"mode": "mergeByKey", **KEYS, "overwrite": "undefined"}, [{"k": 1, "v": "l1", "x": ""},
                                                                {"k": "2", "v": "l2", "extra": 1}, L[4]]),
    ({"mode": "keepKeyMatches", "propertyName1": "k"}, []),  # a property name missing: nothing (or input 1)
    ({"mode": "mergeByKey", "propertyName1": "k"}, L),
    ({"mode": "passThrough"}, L),
    ({"mode": "passThrough", "output": "input2"}, R),
    ({"mode": "wait"}, [{}]),
    ({"mode": "multiplex"}, [{**a, **b} for a in L for b in R]),
])
def test_v1_modes(parameters: Json, expected: list[Json]) -> None:
    assert merge(1, parameters, L, R) == expected


@pytest.mark.parametrize(("join", "left", "right", "expected"), [
    (None, [{"a": 1}, {"a": 2}, {"a": 3}], [{"b": 1}], [{"a": 1, "b": 1}, {"a": 2}, {"a": 3}]),  # left is the default
    ("inner", [{"a": 1}, {"a": 2}], [{"b": 1}], [{"a": 1, "b": 1}]),
    ("outer", [{"a": 1}], [{"a": 9, "b": 1}, {"b": 2}], [{"a": 9, "b": 1}, {"b": 2}]),
    ("left", [], [{"b": 1}], []),
    ("outer", [], [{"b": 1}], [{"b": 1}]),
    ("inner", [{"a": 1}], [], []),
])
def test_v1_merge_by_index(join: str | None, left: list[Json], right: list[Json], expected: list[Json]) -> None:
    parameters = {"mode": "mergeByIndex", **({"join": join} if join else {})}
    assert merge(1, parameters, left, right) == expected


def test_v1_merge_by_key_keeps_input_1_lineage_and_copies() -> None:
    left = [{"k": 1, "nested": {"a": 1}}]
    items = merge_items(1, {"mode": "mergeByKey", **KEYS}, left, [{"key": 1, "nested": {"b": 2}}])
    assert items[0].json == {"k": 1, "nested": {"b": 2}}  # a shallow copy of the field, not a deep merge
    assert "In1" in items[0].paired and "In2" not in items[0].paired
    assert left == [{"k": 1, "nested": {"a": 1}}]


# -- v2 and v3: clash handling, matching options ----------------------------------------------------------------

N1 = [{"id": 1, "o": {"a": 1, "keep": "x"}, "s": "one", "e": "kept"}]
N2 = [{"id": 1, "o": {"a": 2}, "s": "", "e": None}]


@pytest.mark.parametrize(("version", "values", "expected"), [
    # Deep merge by default, input 2 (v2) / the last input (v3) winning; empty values count.
    (2, None, {"id": 1, "o": {"a": 2, "keep": "x"}, "s": "", "e": None}),
    (3, None, {"id": 1, "o": {"a": 2, "keep": "x"}, "s": "", "e": None}),
    (3, {"resolveClash": "preferInput1"}, {"id": 1, "o": {"a": 1, "keep": "x"}, "s": "one", "e": "kept"}),
    (3, {"resolveClash": "preferLast", "mergeMode": "shallowMerge"}, {"id": 1, "o": {"a": 2}, "s": "", "e": None}),
    (3, {"resolveClash": "preferLast", "mergeMode": "deepMerge", "overrideEmpty": True},
     {"id": 1, "o": {"a": 2, "keep": "x"}, "s": "one", "e": "kept"}),
    (3, {"resolveClash": "preferLast", "mergeMode": "shallowMerge", "overrideEmpty": True},
     {"id": 1, "o": {"a": 2}, "s": "one", "e": "kept"}),
    # overrideEmpty without a mergeMode reaches neither of n8n's branches: a plain deep merge.
    (3, {"resolveClash": "preferLast", "overrideEmpty": True}, {"id": 1, "o": {"a": 2, "keep": "x"}, "s": "", "e": None}),
])
def test_clash_handling_when_combining_by_fields(version: float, values: Json | None, expected: Json) -> None:
    options = {"clashHandling": {"values": values}} if values else {}
    fields = {"mergeByFields": {"values": [{"field1": "id", "field2": "id"}]}} if version < 3 else \
        {"fieldsToMatchString": "id"}
    assert merge(version, {"mode": "combine", **fields, "options": options}, N1, N2) == [expected]


def test_arrays_merge_index_by_index_as_lodash_does() -> None:
    got = merge(3, {"mode": "combine", "combineBy": "combineByPosition"}, [{"t": [1, 2, 3], "u": {"x": [1]}}],
                [{"t": [9], "u": {"x": {"y": 1}}}])
    # lodash merges an object into an array already there: its keys land on the array, where JSON drops them.
    assert got == [{"t": [9, 2, 3], "u": {"x": [1]}}]


@pytest.mark.parametrize(("options", "right", "expected"), [
    ({}, [{"id": "1", "r": "s"}], []),  # strict by default: 1 is not "1"
    ({"fuzzyCompare": True}, [{"id": "1", "r": "s"}], [{"id": "1", "n": {"k": 1}, "r": "s"}]),
    ({}, [{"n": {"k": 1}, "r": "p"}], [{"id": 1, "n": {"k": 1}, "r": "p"}]),
])
def test_matching_options(options: Json, right: list[Json], expected: list[Json]) -> None:
    left = [{"id": 1, "n": {"k": 1}}]
    fields = "id" if "id" in right[0] else "n.k"
    assert merge(3, {"mode": "combine", "fieldsToMatchString": fields, "options": options}, left, right) == expected


def test_dot_notation_and_its_opt_out() -> None:
    nested = [{"a": {"b": 2}, "r": 2}]
    params = {"mode": "combine", "fieldsToMatchString": "a.b", "joinMode": "keepMatches", "outputDataFrom": "input2"}
    assert merge(3, params, [{"a": {"b": 2}}], nested) == nested
    assert merge(3, {**params, "options": {"disableDotNotation": True}}, [{"a": {"b": 2}}], nested) == []
    # lodash's get takes a key the item has as it is, dots and all.
    flat = [{"a.b": 1, "r": 1}]
    assert merge(3, params, [{"a.b": 1, "a": {"b": 2}}], flat) == flat


def test_multiple_matches_all_or_first() -> None:
    left, right = [{"id": 1}], [{"id": 1, "r": "a"}, {"id": 1, "r": "b"}]
    params = {"mode": "combine", "fieldsToMatchString": "id"}
    assert merge(3, params, left, right) == [{"id": 1, "r": "a"}, {"id": 1, "r": "b"}]
    assert merge(3, {**params, "options": {"multipleMatches": "first"}}, left, right) == [{"id": 1, "r": "a"}]


def test_fields_to_match_that_n8n_refuses() -> None:
    with pytest.raises(NodeFailed, match="at least one pair"):
        merge(3, {"mode": "combine", "combineBy": "combineByFields"}, [{"a": 1}], [{"a": 1}])
    with pytest.raises(NodeFailed, match="pair 2"):
        merge(3, {"mode": "combine", "fieldsToMatchString": "a,"}, [{"a": 1}], [{"a": 1}])


# -- v3 modes -----------------------------------------------------------------------------------------------------

def test_v3_append_and_choose_branch_over_any_number_of_inputs() -> None:
    rows = ([{"n": 1}], [{"n": 2}], [{"n": 3}])
    assert merge(3, {"numberInputs": 3}, *rows) == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert merge(3.2, {"mode": "chooseBranch", "numberInputs": 3, "useDataOfInput": 3}, *rows) == [{"n": 3}]
    # chooseBranch needs data on its first two inputs (requiredInputs [0, 1]) or n8n does not run it.
    assert merge(3, {"mode": "chooseBranch", "useDataOfInput": 1}, [{"n": 1}], []) == []
    with pytest.raises(NodeFailed, match="Input 4 doesn't exist"):
        merge(3, {"mode": "chooseBranch", "numberInputs": 3, "useDataOfInput": 4}, *rows)


def test_v3_combine_by_position_prefers_the_last_input_or_the_one_named() -> None:
    rows = ([{"v": 1, "a": 1}], [{"v": 2}], [{"v": 3, "c": 3}, {"v": 33}])
    params: Json = {"mode": "combine", "combineBy": "combineByPosition", "numberInputs": 3}
    assert merge(3, params, *rows) == [{"v": 3, "a": 1, "c": 3}]
    assert merge(3, {**params, "options": clash("preferInput2")}, *rows) == [{"v": 2, "a": 1, "c": 3}]
    assert merge(3, {**params, "options": {"includeUnpaired": True}}, *rows) == [{"v": 3, "a": 1, "c": 3}, {"v": 33}]
    # n8n picks the preferred (last) input before adding the suffixes, so its fields also come out unsuffixed.
    assert merge(3, {**params, "options": clash("addSuffix")}, *rows) == [
        {"v_1": 1, "a_1": 1, "v_2": 2, "v_3": 3, "c_3": 3, "v": 3, "c": 3}]
    # An empty input and no unpaired items: nothing (v2 would give the other input's items instead).
    assert merge(3, params, [{"v": 1}], [], [{"v": 3}]) == []
    assert merge(2, {"mode": "combine", "combinationMode": "mergeByPosition"}, [{"v": 1}], []) == [{"v": 1}]


def test_v3_combine_all_uses_the_first_two_inputs() -> None:
    rows = ([{"a": 1}, {"a": 2}], [{"b": 1}], [{"c": 1}])
    assert merge(3, {"mode": "combine", "combineBy": "combineAll", "numberInputs": 3}, *rows) == [
        {"a": 1, "b": 1}, {"a": 2, "b": 1}]


def test_merged_items_keep_the_lineage_of_both_sources() -> None:
    item = merge_items(3, {"mode": "combine", "fieldsToMatchString": "id"}, [{"id": 1}], [{"id": 1}])[0]
    assert item.paired["In1"] == [0, 0] and item.paired["In2"] == [0, 0] and item.paired["Merge"] == [0, 0]


# -- upload ---------------------------------------------------------------------------------------------------------

def problems(version: float, parameters: Json) -> list[tuple[str, str]]:
    return upload_problems("n8n-nodes-base.merge", version, parameters, "Merge")


@pytest.mark.parametrize(("version", "parameters", "field", "words"), [
    (3, {"mode": "combineBySql", "query": "SELECT * FROM input1"}, "mode", "SQL Query mode"),
    (3.2, {"mode": "combineBySql"}, "mode", "SQL Query mode"),
    (2.1, {"mode": "mergeByPosition"}, "mode", "outputs no items"),
    (3, {"mode": "combine", "combineBy": "combineBySomething"}, "combineBy", "does not exist"),
    (3, {"mode": "combine", "combineBy": "combineByFields"}, "fieldsToMatchString", "no fields to match"),
    (3, {"mode": "combine", "fieldsToMatchString": "id,", "joinMode": "keepMatches"}, "fieldsToMatchString",
     "pair 2"),
    (2, {"mode": "combine"}, "mergeByFields.values", "no fields to match"),
    (3, {"mode": "combine", "fieldsToMatchString": "id", "joinMode": "leftJoin"}, "joinMode", "does not exist"),
    (3, {"mode": "combine", "fieldsToMatchString": "id",
         "options": {"clashHandling": {"values": {"resolveClash": "preferInput2"}}}}, "resolveClash", "empty items"),
    (3, {"mode": "chooseBranch", "useDataOfInput": 3}, "useDataOfInput", "has 2 inputs"),
    (1, {"mode": "mergeByKey", "propertyName1": "id"}, "propertyName2", "required"),
    (1, {"mode": "mergeByIndex", "join": "full"}, "join", "does not exist"),
])
def test_upload_refuses(version: float, parameters: Json, field: str, words: str) -> None:
    found = problems(version, parameters)
    assert len(found) == 1 and found[0][0].endswith(field) and words in found[0][1], found


@pytest.mark.parametrize(("version", "parameters"), [
    (1, {"mode": "mergeByKey", "propertyName1": "id", "propertyName2": "id"}),
    (2, {"mode": "combine", "combinationMode": "multiplex"}),
    (2.1, {"mode": "combine", "mergeByFields": {"values": [{"field1": "a", "field2": "b"}]}}),
    (3.1, {"mode": "combine", "advanced": True, "mergeByFields": {"values": [{"field1": "a", "field2": "b"}]}}),
    (3, {"mode": "combine", "fieldsToMatchString": "={{ $json.field }}"}),
    (3, {"numberInputs": 4, "mode": "chooseBranch", "useDataOfInput": 4}),
])
def test_upload_accepts(version: float, parameters: Json) -> None:
    assert problems(version, parameters) == []
