"""The workflow and execution aggregates: folds of their events; an execution rebuilt from its log plans
exactly as the live one did."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from core.domain import execution as execution_domain
from core.domain import workflow as workflow_domain
from core.domain.execution import ExecutionStatus
from core.errors import DomainError
from core.events.envelope import Envelope, new_envelope
from core.events.execution import ExecutionRequested, ExecutionStarted, TriggerData
from core.workflows.engine import Finish, StartTasks, plan
from core.workflows.model import parse_workflow
from core.workflows.node_tasks import ItemResult
from core.workflows.validate import validate
from tests.unit.workflow_support import NOW, n8n_file

_seq = iter(range(1, 10_000))


def env(aggregate_id: str, data: Any, actor: str = "coordinator") -> Envelope[Any]:
    return new_envelope(data, event_id=f"e{next(_seq)}", aggregate_id=aggregate_id,
                        occurred_at=NOW + timedelta(seconds=next(_seq)), actor=actor)


def test_workflow_versions_and_delete() -> None:
    doc: dict[str, Any] = {"nodes": [], "connections": {}}
    history = [env("w1", e, "alice") for e in workflow_domain.create("first", doc)]
    state = workflow_domain.fold(history)
    assert state is not None and state.version == 1 and state.created_by == "alice"
    history += [env("w1", e) for e in workflow_domain.update(state, "second", {**doc, "name": "x"})]
    state = workflow_domain.fold(history)
    assert state is not None and (state.version, state.name) == (2, "second")
    history += [env("w1", e) for e in workflow_domain.delete(state)]
    state = workflow_domain.fold(history)
    assert state is not None and state.deleted
    with pytest.raises(DomainError):
        workflow_domain.update(state, "third", doc)
    with pytest.raises(DomainError):
        workflow_domain.executable(state)


def test_an_execution_rebuilt_from_its_events_plans_as_the_live_one() -> None:
    document = json.loads(n8n_file("manual-set-http-error-output-fallback.json"))
    workflow = parse_workflow(document)
    graph = validate(workflow)
    log = [env("x1", ExecutionRequested(workflow_id="w1", workflow_version=3, document=document,
                                        input=TriggerData())),
           env("x1", ExecutionStarted(trigger=graph.triggers[0]))]
    results: dict[str, ItemResult] = {}
    finish = None
    for _ in range(50):
        live = execution_domain.fold(log)
        assert live is not None
        state = execution_domain.run_state(live, graph.triggers[0])
        state.results = results
        steps = plan(workflow, graph, state, NOW)
        if not steps:
            # Answer the running tasks: the primary fails with a 500, the fallback succeeds.
            for run in state.nodes.values():
                for task_id in run.task_ids:
                    if task_id not in results:
                        ok = task_id.startswith("Fallback")
                        results[task_id] = ItemResult(task_id=task_id, ok=ok, error="" if ok else "HTTP 500",
                                                      output='{"status": 200, "headers": {}, "body": '
                                                      '{"choices": [{"message": {"content": "hi"}}], "model": "m"}}'
                                                      if ok else '{"status": 500, "headers": {}, "body": "x"}')
            continue
        step = steps[0]
        ids = [f"{step.node}#{r.item_index}" for r in step.requests] if isinstance(step, StartTasks) else None
        log += [env("x1", e) for e in execution_domain.step_events(step, ids)]
        if isinstance(step, Finish):
            finish = step
            break
    assert finish is not None and finish.status == "completed"
    rebuilt = execution_domain.fold(log)
    assert rebuilt is not None and rebuilt.status is ExecutionStatus.COMPLETED
    assert rebuilt.workflow_version == 3
    assert rebuilt.result == [{"json": {"answer": "hi", "served_model": "m", "via": "fallback"}}]
    assert rebuilt.nodes["Primary model (DaoXE)"].outputs is not None
    assert rebuilt.nodes["Primary model (DaoXE)"].task_ids == ["Primary model (DaoXE)#0"]
    with pytest.raises(DomainError):
        execution_domain.request_cancel(rebuilt)
