"""Pure parts of the execution driver and the merge node: task ids, oversized events, merge modes, capabilities."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from core.coordinator.execution_limits import MAX_EVENT_BYTES, fit, started_task_ids
from core.coordinator.execution_tasks import is_node_task, node_task_id
from core.events.execution import ExecutionFailed, NodeCompleted, NodeFailed, NodeStarted
from core.ids import idempotent_task_id, uuid7
from core.workflows.context import RunView
from core.workflows.errors import InvalidWorkflow
from core.workflows.items import Item
from core.workflows.model import Node, parse_workflow
from core.workflows.node_merge import run_merge
from core.workflows.validate import validate


def test_task_ids_are_deterministic_per_execution_node_and_item_and_say_what_they_are() -> None:
    a = node_task_id("x1", "Ask", 0)
    assert a == node_task_id("x1", "Ask", 0)
    assert len({a, node_task_id("x1", "Ask", 1), node_task_id("x1", "Other", 0), node_task_id("x2", "Ask", 0)}) == 4
    assert uuid.UUID(a).version == 8 and is_node_task(a)
    # The gateway's ids (v7) and idempotency-key ids (v5) are not workflow tasks.
    assert not is_node_task(uuid7()) and not is_node_task(idempotent_task_id("alice", "k"))


def test_an_output_too_big_for_one_event_fails_its_node_and_the_execution_and_cuts_the_decision() -> None:
    small = NodeStarted(node="A", task_ids=["t"])
    big = NodeCompleted(node="B", outputs=[[{"json": {"text": "x" * (MAX_EVENT_BYTES + 1)}}]])
    after = NodeStarted(node="C", task_ids=["t2"])
    events, cut = fit([small, big, after])
    assert cut and events[0] is small and len(events) == 3
    assert isinstance(events[1], NodeFailed) and events[1].node == "B" and "bytes" in events[1].error
    assert isinstance(events[2], ExecutionFailed) and events[2].node == "B"
    # C's task, planned after the cut, is not created with this decision.
    assert started_task_ids(events) == {"t"}
    assert fit([small, after]) == ([small, after], False)


def _merge(parameters: dict[str, Any], inputs: list[list[dict[str, Any]]], version: float = 3) -> list[dict[str, Any]]:
    node = Node(name="M", type="n8n-nodes-base.merge", type_version=version, parameters=parameters)
    rows = [[Item(json=j, paired={f"In{k}": [0, i]}) for i, j in enumerate(items)] for k, items in enumerate(inputs)]
    return [item.json for item in run_merge(node, rows, RunView())[0]]


@pytest.mark.parametrize(("parameters", "version", "expected"), [
    ({}, 3, [{"a": 1}, {"a": 2}, {"b": 1}]),
    ({"mode": "combine", "combineBy": "combineByPosition"}, 3, [{"a": 1, "b": 1}]),
    ({"mode": "combine", "combineBy": "combineByPosition", "options": {"includeUnpaired": True}}, 3,
     [{"a": 1, "b": 1}, {"a": 2}]),
    ({"mode": "combine", "combineBy": "combineAll"}, 3, [{"a": 1, "b": 1}, {"a": 2, "b": 1}]),
    ({"mode": "combine", "fieldsToMatchString": "k"}, 3, []),
    ({"mode": "chooseBranch", "useDataOfInput": 2}, 3, [{"b": 1}]),
    ({"mode": "combine", "combinationMode": "mergeByPosition"}, 2.1, [{"a": 1, "b": 1}]),
    ({"mode": "mergeByPosition"}, 2.1, []),  # no such v2 mode: MergeV2 outputs nothing (refused at upload)
    ({"mode": "combine", "combinationMode": "multiplex"}, 2, [{"a": 1, "b": 1}, {"a": 2, "b": 1}]),
])
def test_merge_modes(parameters: dict[str, Any], version: float, expected: list[dict[str, Any]]) -> None:
    assert _merge(parameters, [[{"a": 1}, {"a": 2}], [{"b": 1}]], version) == expected


def test_merge_by_fields_joins_matching_items() -> None:
    left = [{"k": 1, "l": "x"}, {"k": 2, "l": "y"}]
    right = [{"k": 2, "r": "z"}]
    assert _merge({"mode": "combine", "fieldsToMatchString": "k"}, [left, right]) == [{"k": 2, "l": "y", "r": "z"}]
    # n8n's combineByFields.ts: the merged matches first, then input 1's unmatched items.
    assert _merge({"mode": "combine", "fieldsToMatchString": "k", "joinMode": "enrichInput1"}, [left, right]) == [
        {"k": 2, "l": "y", "r": "z"}, {"k": 1, "l": "x"}]


def test_a_literal_capability_no_agent_could_offer_is_a_problem() -> None:
    document = {"nodes": [{"name": "S", "type": "n8n-nodes-base.manualTrigger", "parameters": {}},
                          {"name": "A", "type": "hive.agentTask", "parameters": {"capability": "Has Space", "prompt": "p"}}],
                "connections": {"S": {"main": [[{"node": "A", "type": "main", "index": 0}]]}}}
    with pytest.raises(InvalidWorkflow) as caught:
        validate(parse_workflow(document))
    assert [(p.node, p.field) for p in caught.value.problems] == [("A", "$.nodes[1].parameters.capability")]
