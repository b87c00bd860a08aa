"""The Wait node resumed from outside (n8n's `resume: webhook` and `resume: form`, typeVersion 1 and 1.1): it
waits until a resume request, or its time limit; the item a request makes; `$execution.resumeUrl`; and the
execution aggregate's waiting status and resume decisions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from core.domain import execution as execution_domain
from core.domain.execution import ExecutionStatus
from core.errors import DomainError
from core.events.envelope import new_envelope
from core.events.execution import (
    ExecutionRequested,
    ExecutionResumed,
    ExecutionStarted,
    NodeCompleted,
    NodeStarted,
    TriggerData,
)
from core.workflows.engine import RunState, apply_step, next_wake, plan
from core.workflows.model import Node, parse_workflow
from core.workflows.node_misc import TriggerInput
from core.workflows.context import RunView
from core.workflows.node_wait import plan_wait, resumed_json
from core.workflows.runner import run_to_end
from core.workflows.validate import validate
from core.workflows.wait_form import ResumeRejected
from tests.unit.workflow_support import NOW, outputs, run

TRIGGER = {"name": "Start", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1, "parameters": {}}


def waiting(parameters: dict[str, Any], version: float = 1.1) -> Any:
    nodes = [TRIGGER,
             {"name": "Link", "type": "n8n-nodes-base.set", "typeVersion": 3.4, "parameters": {"assignments": {
                 "assignments": [{"name": "url", "type": "string", "value": "={{ $execution.resumeUrl }}"}]},
                 "includeOtherFields": True}},
             {"name": "Wait", "type": "n8n-nodes-base.wait", "typeVersion": version, "parameters": parameters},
             {"name": "After", "type": "n8n-nodes-base.noOp", "typeVersion": 1, "parameters": {}}]
    chain = ["Start", "Link", "Wait", "After"]
    return parse_workflow({"nodes": nodes, "connections": {
        a: {"main": [[{"node": b, "type": "main", "index": 0}]]} for a, b in zip(chain, chain[1:])}})


def started(workflow: Any, items: list[dict[str, Any]] | None = None) -> tuple[Any, RunState]:
    """The state once the execution reached its wait (nothing more to do by itself)."""
    graph = validate(workflow)
    state = RunState(trigger="Start", trigger_input=TriggerInput(items=items or [{"q": 1}]), execution_id="x1",
                     resume_url="https://hive.example/api/executions/x1/resume")
    while steps := plan(workflow, graph, state, NOW):
        for step in steps:
            apply_step(state, step)
    return graph, state


@pytest.mark.parametrize("resume", ["webhook", "form"])
def test_a_wait_for_a_resume_waits_until_one_comes(resume: str) -> None:
    workflow = waiting({"resume": resume})
    graph, state = started(workflow)
    wait = state.nodes["Wait"]
    assert (wait.status, wait.resume, wait.resume_at) == ("waiting", resume, None)
    assert next_wake(state) is None and plan(workflow, graph, state, NOW + timedelta(days=400)) == []
    # `$execution.resumeUrl`, evaluated before the wait, is where to resume it.
    assert outputs(state, "Link") == [[{"q": 1, "url": "https://hive.example/api/executions/x1/resume"}]]
    wait.resumed = {"headers": {}, "params": {}, "query": {}, "body": {"ok": True}}
    (done,) = plan(workflow, graph, state, NOW)
    apply_step(state, done)
    assert outputs(state, "Wait") == [[wait.resumed]]
    # The resumed item derives from the wait's input item: `$('Start').item` still finds its origin.
    assert state.nodes["Wait"].outputs[0][0].paired == {"Start": [0, 0], "Link": [0, 0], "Wait": [0, 0]}  # type: ignore[index]


@pytest.mark.parametrize(("limit", "expected"), [
    ({"limitType": "afterTimeInterval", "resumeAmount": 30, "resumeUnit": "seconds"}, NOW + timedelta(seconds=30)),
    ({}, NOW + timedelta(hours=1)),  # n8n's defaults: 1 hour
    ({"limitType": "atSpecifiedTime", "maxDateAndTime": "2025-03-02T00:00:00Z"}, NOW.replace(day=2, hour=0)),
    ({"limitType": "atSpecifiedTime", "maxDateTime": "2025-03-02T00:00:00+00:00"}, NOW.replace(day=2, hour=0)),
])
def test_the_time_limit_lets_the_input_items_go_on(limit: dict[str, Any], expected: Any) -> None:
    workflow = waiting({"resume": "webhook", "limitWaitTime": True, **limit})
    finish, state = run(workflow, given=TriggerInput(items=[{"q": 1}, {"q": 2}]))
    assert finish.status == "completed"
    assert state.nodes["Wait"].resume_at == expected
    assert [i["q"] for i in outputs(state, "Wait")[0]] == [1, 2]  # the input items, unchanged


def test_a_resume_before_the_limit_wins() -> None:
    workflow = waiting({"resume": "form", "limitWaitTime": True, "resumeAmount": 1, "resumeUnit": "minutes"})
    finish, state = run_to_end(workflow, validate(workflow), NOW, given=TriggerInput(items=[{"q": 1}]),
                               resumes=lambda node, r: {"Name": "Ada"} if node == "Wait" else None)
    assert finish.status == "completed" and outputs(state, "After") == [[{"Name": "Ada"}]]


@pytest.mark.parametrize(("version", "parameters", "seconds"), [
    (1, {}, 3600), (1.1, {}, 5), (1.1, {"amount": 2, "unit": "minutes"}, 120)])
def test_a_timed_wait_uses_the_defaults_of_its_version(version: float, parameters: dict[str, Any],
                                                       seconds: int) -> None:
    node = Node(name="W", type="n8n-nodes-base.wait", type_version=version, parameters=parameters)
    assert plan_wait(node, [], RunView(), NOW) == (NOW + timedelta(seconds=seconds), None)


def test_a_webhook_resume_makes_n8n_s_item_without_credentials() -> None:
    node = Node(name="W", type="n8n-nodes-base.wait", type_version=1.1, parameters={"resume": "webhook"})
    made = resumed_json(node, "webhook", {"answer": 42}, {"Authorization": "Bearer x", "Cookie": "c", "X-Id": "7"},
                        {"page": "2"}, NOW)
    assert made == {"headers": {"x-id": "7"}, "params": {}, "query": {"page": "2"}, "body": {"answer": 42}}


FORM = {"resume": "form", "formTitle": "Approve", "formFields": {"values": [
    {"fieldLabel": "Decision", "fieldType": "dropdown", "requiredField": True,
     "fieldOptions": {"values": [{"option": "yes"}, {"option": "no"}]}},
    {"fieldLabel": "Amount", "fieldType": "number"},
    {"fieldLabel": "Your note", "fieldType": "text"}]}}


def test_a_form_resume_gives_the_fields_by_label() -> None:
    node = Node(name="W", type="n8n-nodes-base.wait", type_version=1.1, parameters=FORM)
    made = resumed_json(node, "form", {"Decision": "yes", "Amount": "12.5", "Your note": "  fine "}, {}, {}, NOW)
    assert made == {"Decision": "yes", "Amount": 12.5, "Your note": "fine", "submittedAt": NOW.isoformat(),
                    "formMode": "production"}
    # n8n's own keys (field-<n>) are accepted too, and a field left out is null.
    assert resumed_json(node, "form", {"field-0": "no"}, {}, {}, NOW)["Amount"] is None


@pytest.mark.parametrize(("body", "field"), [
    ({"Amount": 3}, "$.Decision"),
    ({"Decision": "maybe"}, "$.Decision"),
    ({"Decision": "no", "Amount": "lots"}, "$.Amount"),
    ({"Decision": "no", "Your note": {"x": 1}}, '$["Your note"]'),
    (["Decision"], "$"),
])
def test_a_form_body_that_does_not_fit_names_the_field(body: Any, field: str) -> None:
    node = Node(name="W", type="n8n-nodes-base.wait", type_version=1.1, parameters=FORM)
    with pytest.raises(ResumeRejected) as caught:
        resumed_json(node, "form", body, {}, {}, NOW)
    assert caught.value.field == field


def _execution(*events: Any) -> Any:
    document = {"nodes": [TRIGGER], "connections": {}}
    history = [ExecutionRequested(workflow_id="w", workflow_version=1, document=document, input=TriggerData()),
               ExecutionStarted(trigger="Start"), *events]
    return execution_domain.fold([new_envelope(e, event_id=f"e{i}", aggregate_id="x1", occurred_at=NOW,
                                               actor="t") for i, e in enumerate(history)])


def test_an_execution_whose_busy_nodes_all_wait_is_waiting_and_a_resume_is_decided_against_it() -> None:
    state = _execution(NodeStarted(node="Wait", resume="webhook"))
    assert state.status is ExecutionStatus.WAITING
    assert execution_domain.waiting_for_resume(state, None) == ("Wait", "webhook")
    with pytest.raises(DomainError, match="not waiting for a resume at node 'Other'"):
        execution_domain.waiting_for_resume(state, "Other")
    # A task node running beside it: running, not waiting.
    assert _execution(NodeStarted(node="Wait", resume="form"), NodeStarted(node="T", task_ids=["t"])).status \
        is ExecutionStatus.RUNNING
    resumed = _execution(NodeStarted(node="Wait", resume="webhook"),
                         *execution_domain.request_resume(state, "Wait", "webhook", {"body": 1}))
    assert resumed.nodes["Wait"].resumed == {"body": 1}
    with pytest.raises(DomainError, match="not waiting for a resume"):  # a second resume is stale
        execution_domain.waiting_for_resume(resumed, "Wait")
    done = _execution(NodeStarted(node="Wait", resume="webhook"), ExecutionResumed(node="Wait", via="webhook", data={}),
                      NodeCompleted(node="Wait", outputs=[[{"json": {}}]]))
    assert done.status is ExecutionStatus.RUNNING
    with pytest.raises(DomainError, match="is not waiting for a resume"):
        execution_domain.waiting_for_resume(done, None)


def test_a_stale_resume_in_the_log_changes_nothing_and_a_cancel_ends_a_wait() -> None:
    done = _execution(NodeStarted(node="Wait", resume="webhook"), NodeCompleted(node="Wait", outputs=[[{"json": {}}]]),
                      ExecutionResumed(node="Wait", via="webhook", data={"late": True}))
    assert done.nodes["Wait"].resumed is None and done.nodes["Wait"].status == "completed"
    workflow = waiting({"resume": "webhook"})
    graph, state = started(workflow)
    state.cancel_requested = True
    (finish,) = plan(workflow, graph, state, NOW)
    assert finish.status == "cancelled"  # type: ignore[union-attr]
