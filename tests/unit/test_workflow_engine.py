"""The engine on small hand-written workflows: validation problems, hive.agentTask items, continueOnFail,
retries, a merge whose other branch was not taken, cancel, and the steps `plan` answers."""

from __future__ import annotations

from typing import Any

import pytest

from core.workflows.engine import CompleteNode, Finish, RunState, StartTasks, apply_step, plan
from core.workflows.errors import InvalidWorkflow
from core.workflows.model import parse_workflow
from core.workflows.node_misc import TriggerInput
from core.workflows.node_tasks import ItemResult
from core.workflows.validate import validate
from tests.unit.workflow_support import NOW, FakeTasks, outputs, run

TRIGGER = {"name": "Start", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1, "parameters": {}}


def agent(name: str, prompt: str = "={{ $json.q }}", **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": "hive.agentTask", "typeVersion": 1,
            "parameters": {"capability": "echo", "prompt": prompt}, **extra}


def chain(*names: str) -> dict[str, Any]:
    return {a: {"main": [[{"node": b, "type": "main", "index": 0}]]} for a, b in zip(names, names[1:])}


def doc(nodes: list[dict[str, Any]], connections: dict[str, Any], **extra: Any) -> Any:
    return parse_workflow({"nodes": nodes, "connections": connections, **extra})


def problems_of(workflow: Any) -> list[tuple[str | None, str, str]]:
    with pytest.raises(InvalidWorkflow) as caught:
        validate(workflow)
    return [(p.node, p.field, p.message) for p in caught.value.problems]


def test_cycles_dangling_connections_and_missing_parameters_name_their_nodes() -> None:
    wf = doc([TRIGGER, agent("A"), agent("B"), {"name": "H", "type": "n8n-nodes-base.httpRequest", "parameters": {}}],
             {**chain("Start", "A", "B"), "B": {"main": [[{"node": "A", "type": "main", "index": 0},
                                                          {"node": "Ghost", "type": "main", "index": 0}]]},
              "Nobody": {"main": [[{"node": "A"}]]}})
    found = problems_of(wf)
    messages = {(node, message.split(":")[0].split(",")[0]) for node, _, message in found}
    assert ("B", "connects to node 'Ghost'") in messages
    assert ("Nobody", "connections leave from a node that does not exist") in messages
    assert any(node in ("A", "B") and "cycle" in message for node, _, message in found)
    assert ("H", "$.nodes[3].parameters.url", "required parameter url is missing") in found


def test_a_chain_llm_without_a_model_and_a_bad_expression_are_problems() -> None:
    wf = doc([TRIGGER, {"name": "Chain", "type": "@n8n/n8n-nodes-langchain.chainLlm", "parameters": {}},
              agent("Bad", prompt="={{ $json. }}")], chain("Start", "Chain", "Bad"))
    found = problems_of(wf)
    assert any(node == "Chain" and "exactly one Ollama model" in m for node, _, m in found)
    assert any(node == "Bad" and field == "$.nodes[2].parameters.prompt" for node, field, _ in found)


def test_agent_task_emits_output_and_task_id_per_item() -> None:
    wf = doc([TRIGGER, agent("Ask", retryOnFail=True, maxTries=4)], chain("Start", "Ask"))
    tasks = FakeTasks(lambda node, r: f"answer to {r.prompt}")
    finish, state = run(wf, tasks, TriggerInput(items=[{"q": "one"}, {"q": "two"}]))
    assert finish.status == "completed"
    assert outputs(state, "Ask") == [[{"output": "answer to one", "task_id": "task-1"},
                                      {"output": "answer to two", "task_id": "task-2"}]]
    assert [r.max_attempts for _, r in tasks.calls] == [4, 4]
    assert tasks.calls[0][1].capabilities == ["echo"]


@pytest.mark.parametrize(("flags", "expected_status", "expected_items"), [
    ({}, "failed", None),
    ({"continueOnFail": True}, "completed", [[{"output": "fine", "task_id": "task-1"},
                                              {"error": "exit 1", "task_id": "task-2"}]]),
    ({"onError": "continueRegularOutput"}, "completed", [[{"output": "fine", "task_id": "task-1"},
                                                          {"error": "exit 1", "task_id": "task-2"}]]),
    ({"onError": "continueErrorOutput"}, "completed", [[{"output": "fine", "task_id": "task-1"}],
                                                       [{"q": "bad", "error": "exit 1", "task_id": "task-2"}]]),
])
def test_a_failing_item_with_and_without_continue_on_fail(flags: dict[str, Any], expected_status: str,
                                                          expected_items: Any) -> None:
    wf = doc([TRIGGER, agent("Ask", **flags)], chain("Start", "Ask"))
    tasks = FakeTasks(lambda node, r: ("fail", "exit 1") if r.prompt == "bad" else "fine")
    finish, state = run(wf, tasks, TriggerInput(items=[{"q": "ok"}, {"q": "bad"}]))
    assert finish.status == expected_status
    if expected_items is None:
        assert finish.node == "Ask" and "exit 1" in (finish.error or "")
    else:
        assert outputs(state, "Ask") == expected_items


def test_a_merge_runs_with_what_it_has_when_the_other_branch_is_not_taken() -> None:
    nodes = [TRIGGER,
             {"name": "If", "type": "n8n-nodes-base.if", "typeVersion": 2, "parameters": {"conditions": {
                 "conditions": [{"leftValue": "={{ $json.go }}", "rightValue": "", "operator": {
                     "type": "boolean", "operation": "true", "singleValue": True}}], "combinator": "and"}}},
             agent("Yes"), agent("No"),
             {"name": "Merge", "type": "n8n-nodes-base.merge", "typeVersion": 3, "parameters": {}}]
    connections = {"Start": {"main": [[{"node": "If", "type": "main", "index": 0}]]},
                   "If": {"main": [[{"node": "Yes", "type": "main", "index": 0}],
                                   [{"node": "No", "type": "main", "index": 0}]]},
                   "Yes": {"main": [[{"node": "Merge", "type": "main", "index": 0}]]},
                   "No": {"main": [[{"node": "Merge", "type": "main", "index": 1}]]}}
    tasks = FakeTasks(lambda node, r: node)
    finish, state = run(doc(nodes, connections), tasks, TriggerInput(items=[{"go": True, "q": "x"}]))
    assert finish.status == "completed"
    assert "No" not in state.nodes
    assert outputs(state, "Merge") == [[{"output": "Yes", "task_id": "task-1"}]]
    # Both branches taken (two items split): the merge waits for both and appends them.
    tasks = FakeTasks(lambda node, r: node)
    finish, state = run(doc(nodes, connections), tasks,
                        TriggerInput(items=[{"go": True, "q": "a"}, {"go": False, "q": "b"}]))
    assert [i["output"] for i in outputs(state, "Merge")[0]] == ["Yes", "No"]


def test_plan_is_a_function_of_recorded_outcomes() -> None:
    wf = doc([TRIGGER, agent("A"), agent("B")], chain("Start", "A", "B"))
    graph = validate(wf)
    state = RunState(trigger="Start", trigger_input=TriggerInput(items=[{"q": "hi"}]))
    steps = plan(wf, graph, state, NOW)
    assert [type(s) for s in steps] == [CompleteNode]
    apply_step(state, steps[0])
    (start_a,) = plan(wf, graph, state, NOW)
    assert isinstance(start_a, StartTasks) and [r.prompt for r in start_a.requests] == ["hi"]
    apply_step(state, start_a, ["t1"])
    assert plan(wf, graph, state, NOW) == []  # waiting on t1
    state.results["t1"] = ItemResult(task_id="t1", ok=True, output="from A")
    (done_a,) = plan(wf, graph, state, NOW)
    assert isinstance(done_a, CompleteNode) and done_a.outcome.outputs[0][0].json == {"output": "from A", "task_id": "t1"}
    apply_step(state, done_a)
    (start_b,) = plan(wf, graph, state, NOW)
    assert isinstance(start_b, StartTasks) and start_b.requests[0].prompt == ""  # B's item has no `q`
    apply_step(state, start_b, ["t2"])
    state.cancel_requested = True
    assert plan(wf, graph, state, NOW) == []  # cancelled only once its running task has ended
    state.results["t2"] = ItemResult(task_id="t2", ok=False, error="cancelled")
    (finish,) = plan(wf, graph, state, NOW)
    assert isinstance(finish, Finish) and finish.status == "cancelled"
