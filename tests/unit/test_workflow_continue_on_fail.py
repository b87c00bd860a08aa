"""Built-ins that continue on failure do what n8n's do: Set and Switch turn only the failing item into
`{error}`, If sends it to its false output, a node that fails as a whole passes its input on; the error output
(`onError: continueErrorOutput`) gets the failing items with their input's fields. And every node's history
is node_started, then node_completed or node_failed."""

from __future__ import annotations

from typing import Any

import pytest

from core.domain import execution as execution_domain
from core.events.execution import NodeCompleted, NodeFailed, NodeStarted
from core.workflows.engine import Finish, RunState, StartTasks, apply_step, plan
from core.workflows.model import parse_workflow
from core.workflows.node_misc import TriggerInput
from core.workflows.node_tasks import ItemResult
from core.workflows.validate import validate
from tests.unit.workflow_support import NOW, outputs, run

TRIGGER = {"name": "Start", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1, "parameters": {}}
ITEMS = TriggerInput(items=[{"a": {"b": 1}, "n": 1}, {"n": 2}, {"a": {"b": 3}, "n": 3}])
# Item 2 has no `a`: reading `a.b` fails for it alone.
FAILS_ON_2 = "={{ $json.a.b }}"
MESSAGE = "cannot read properties of undefined"


def after_start(node: dict[str, Any], **flags: Any) -> Any:
    return parse_workflow({"nodes": [TRIGGER, {**node, "name": "N", **flags}],
                           "connections": {"Start": {"main": [[{"node": "N", "type": "main", "index": 0}]]}}})


SET = {"type": "n8n-nodes-base.set", "typeVersion": 3.4, "parameters": {
    "assignments": {"assignments": [{"name": "b", "type": "number", "value": FAILS_ON_2}]}, "includeOtherFields": True}}
IF = {"type": "n8n-nodes-base.if", "typeVersion": 2.2, "parameters": {"conditions": {
    "options": {"caseSensitive": True, "typeValidation": "strict"}, "combinator": "and",
    "conditions": [{"leftValue": FAILS_ON_2, "rightValue": 2, "operator": {"type": "number", "operation": "gt"}}]}}}
SWITCH = {"type": "n8n-nodes-base.switch", "typeVersion": 3.2, "parameters": {"rules": {"values": [
    {"conditions": {"options": {"caseSensitive": True, "typeValidation": "strict"}, "combinator": "and",
                    "conditions": [{"leftValue": FAILS_ON_2, "rightValue": 1,
                                    "operator": {"type": "number", "operation": "equals"}}]}},
    {"conditions": {"options": {"caseSensitive": True, "typeValidation": "strict"}, "combinator": "and",
                    "conditions": [{"leftValue": FAILS_ON_2, "rightValue": 3,
                                    "operator": {"type": "number", "operation": "equals"}}]}}]}}}


def errors_of(rows: list[list[dict[str, Any]]]) -> list[list[Any]]:
    """Each output's items, an error item shown as ("error", its other fields) and others by their `n`."""
    return [[("error", {k: v for k, v in i.items() if k != "error"}) if MESSAGE in str(i.get("error", ""))
             else i.get("n") for i in row] for row in rows]


@pytest.mark.parametrize("flags", [{}, {"onError": "stopWorkflow"}])
def test_without_continue_a_failing_item_fails_the_node(flags: dict[str, Any]) -> None:
    for node in (SET, IF, SWITCH):
        finish, _ = run(after_start(node, **flags), given=ITEMS)
        assert finish.status == "failed" and finish.node == "N" and MESSAGE in (finish.error or "")


@pytest.mark.parametrize("flags", [{"continueOnFail": True}, {"onError": "continueRegularOutput"}])
def test_continuing_only_the_failing_item_changes(flags: dict[str, Any]) -> None:
    finish, state = run(after_start(SET, **flags), given=ITEMS)
    assert finish.status == "completed"
    assert errors_of(outputs(state, "N")) == [[1, ("error", {}), 3]]  # n8n's Set: `{error}` in place of the item
    assert [i["b"] for i in outputs(state, "N")[0] if "b" in i] == [1, 3]
    finish, state = run(after_start(IF, **flags), given=ITEMS)
    assert outputs(state, "N") == [[{"a": {"b": 3}, "n": 3}], [{"a": {"b": 1}, "n": 1}, {"n": 2}]]  # to false
    finish, state = run(after_start(SWITCH, **flags), given=ITEMS)
    assert errors_of(outputs(state, "N")) == [[1, ("error", {})], [3]]  # n8n's Switch: `{error}` on output 0


def test_the_error_output_gets_the_failing_items_with_their_inputs_fields() -> None:
    flags = {"onError": "continueErrorOutput"}
    _, state = run(after_start(SET, **flags), given=ITEMS)
    assert errors_of(outputs(state, "N")) == [[1, 3], [("error", {"n": 2})]]
    _, state = run(after_start(SWITCH, **flags), given=ITEMS)
    assert errors_of(outputs(state, "N")) == [[1], [3], [("error", {"n": 2})]]
    # If puts a failing item on its false output (not an error item), so its error output stays empty.
    _, state = run(after_start(IF, **flags), given=ITEMS)
    assert errors_of(outputs(state, "N")) == [[3], [1, 2], []]
    # Lineage: the error item derives from its input item, at its place on the error output.
    _, state = run(after_start(SET, **flags), given=ITEMS)
    (failed,) = state.nodes["N"].outputs[1]  # type: ignore[index]
    assert failed.paired == {"Start": [0, 1], "N": [1, 0]}


@pytest.mark.parametrize(("node", "mode"), [
    ({"type": "n8n-nodes-base.if", "typeVersion": 1, "parameters": {"conditions": {
        "number": [{"value1": FAILS_ON_2, "operation": "larger", "value2": 0}]}}}, "continueOnFail"),
    ({"type": "n8n-nodes-base.set", "typeVersion": 2, "parameters": {"values": {
        "string": [{"name": "b", "value": FAILS_ON_2}]}}}, "continueErrorOutput"),
])
def test_a_node_that_fails_as_a_whole_passes_its_input_on(node: dict[str, Any], mode: str) -> None:
    flags = {"continueOnFail": True} if mode == "continueOnFail" else {"onError": mode}
    finish, state = run(after_start(node, **flags), given=ITEMS)
    assert finish.status == "completed"
    rows = outputs(state, "N")
    # If v1 and Set v1/v2 catch nothing per item: n8n passes the input through on output 0, unchanged.
    assert [[i["n"] for i in row] for row in rows[:1]] == [[1, 2, 3]] and not any(rows[1:])


def test_every_node_is_started_then_completed_and_built_ins_start_in_the_same_decision() -> None:
    document = {"nodes": [TRIGGER, {**SET, "name": "S", "continueOnFail": True},
                          {"name": "A", "type": "hive.agentTask", "typeVersion": 1,
                           "parameters": {"capability": "echo", "prompt": "={{ $json.n }}"}},
                          {"name": "Bad", "type": "n8n-nodes-base.set", "typeVersion": 3.4, "parameters": {
                              "assignments": {"assignments": [{"name": "x", "value": "={{ $json.nope.deeper }}"}]}}}],
                "connections": {"Start": {"main": [[{"node": "S", "type": "main", "index": 0}]]},
                                "S": {"main": [[{"node": "A", "type": "main", "index": 0}]]},
                                "A": {"main": [[{"node": "Bad", "type": "main", "index": 0}]]}}}
    workflow = parse_workflow(document)
    graph = validate(workflow)
    state = RunState(trigger="Start", trigger_input=ITEMS)
    events: list[Any] = []
    for _ in range(20):
        steps = plan(workflow, graph, state, NOW)
        if not steps:
            state.results.update({t: ItemResult(task_id=t, ok=True, output="ok")
                                  for r in state.nodes.values() for t in r.task_ids})
            continue
        step = steps[0]
        ids = [f"t{r.item_index}" for r in step.requests] if isinstance(step, StartTasks) else None
        events += execution_domain.step_events(step, ids)
        if isinstance(step, Finish):
            break
        apply_step(state, step, ids)
    history = [(type(e).__name__, e.node, getattr(e, "builtin", None)) for e in events
               if isinstance(e, NodeStarted | NodeCompleted | NodeFailed)]
    assert history == [("NodeStarted", "Start", True), ("NodeCompleted", "Start", None),
                       ("NodeStarted", "S", True), ("NodeCompleted", "S", None),
                       ("NodeStarted", "A", False), ("NodeCompleted", "A", None),
                       ("NodeStarted", "Bad", True), ("NodeFailed", "Bad", None)]
    # A built-in's node_started carries no inputs: they are its upstream outputs, already in the log.
    assert all(not e.inputs for e in events if isinstance(e, NodeStarted) and e.builtin)


def legacy_switch(version: int) -> dict[str, Any]:
    return {"type": "n8n-nodes-base.switch", "typeVersion": version, "parameters": {
        "dataType": "number", "value1": FAILS_ON_2,
        "rules": {"rules": [{"operation": "equal", "value2": 1, "output": 0},
                            {"operation": "equal", "value2": 3, "output": 1}]}}}


@pytest.mark.parametrize("version, routed", [(1, [[1, ("error", {})], [3], [], []]), (2, [[1, ("error", {})], [3]])])
def test_switch_v1_and_v2_continue_as_n8ns_switchv1_and_v2(version: int, routed: list[list[Any]]) -> None:
    finish, _ = run(after_start(legacy_switch(version)), given=ITEMS)
    assert finish.status == "failed" and MESSAGE in (finish.error or "")
    finish, state = run(after_start(legacy_switch(version), continueOnFail=True), given=ITEMS)
    assert finish.status == "completed"
    assert errors_of(outputs(state, "N")) == routed  # `{error}` on output 0, the others routed
