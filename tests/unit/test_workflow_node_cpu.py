"""A node's expressions share one allowance of coordinator CPU (all its items together): a node that computes past
it fails, naming the allowance, or with continue-on-fail its remaining items become errors; the run never stalls."""

from __future__ import annotations

from typing import Any

import pytest

from core.workflows import expr_budget
from core.workflows.model import parse_workflow
from core.workflows.node_misc import TriggerInput
from tests.unit.workflow_support import outputs, run

TRIGGER = {"name": "Start", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1, "parameters": {}}
SUM = "={{ [...Array(2000).keys()].map(i => i * $json.n).reduce((a, b) => a + b, 0) }}"
ITEMS = TriggerInput(items=[{"n": n} for n in range(1, 4)])


def workflow(**flags: Any) -> Any:
    node = {"name": "Sum", "type": "n8n-nodes-base.set", "typeVersion": 3.4, **flags, "parameters": {
        "assignments": {"assignments": [{"name": "sum", "type": "number", "value": SUM}]}}}
    return parse_workflow({"nodes": [TRIGGER, node],
                           "connections": {"Start": {"main": [[{"node": "Sum", "type": "main", "index": 0}]]}}})


def test_within_the_allowance_the_node_computes() -> None:
    finish, state = run(workflow(), given=ITEMS)
    assert finish.status == "completed"
    assert outputs(state, "Sum") == [[{"sum": 1999000 * n} for n in range(1, 4)]]


def test_past_the_allowance_the_node_fails_saying_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(expr_budget, "NODE_CPU_S", 0.0)  # any work at all is past it
    finish, _ = run(workflow(), given=ITEMS)
    assert finish.status == "failed" and finish.node == "Sum"
    assert "took more than 0 s of the coordinator's CPU" in (finish.error or "")


def test_with_continue_on_fail_the_items_past_the_allowance_become_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(expr_budget, "NODE_CPU_S", 0.0)
    finish, state = run(workflow(continueOnFail=True), given=ITEMS)
    assert finish.status == "completed"
    assert all("coordinator's CPU" in item["error"] for item in outputs(state, "Sum")[0])


def test_outside_a_node_there_is_no_allowance() -> None:
    expr_budget.check_node_time()  # nothing to check against: no error
    with expr_budget.node_work(limit_s=60.0):
        expr_budget.check_node_time()
