"""Runs a workflow to the end in memory, with a given task runner: for tests and dry runs. Pure but for the
runner callback; the coordinator's driver does the same through events and real tasks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from core.workflows.engine import (
    CompleteNode,
    Finish,
    NodeRun,
    RunState,
    StartTasks,
    StartWait,
    apply_step,
    next_wake,
    plan,
)
from core.workflows.graph import Graph
from core.workflows.model import Workflow
from core.workflows.node_misc import TriggerInput
from core.workflows.node_tasks import ItemResult, TaskRequest

TaskRunner = Callable[[str, TaskRequest, str], ItemResult]  # (node, request, task id) -> result
# (node, its run) -> the item json a resume request brings to a wait for one, or None (no request comes).
Resumer = Callable[[str, NodeRun], dict[str, Any] | None]
MAX_STEPS = 10_000


def run_to_end(workflow: Workflow, graph: Graph, now: datetime, trigger: str | None = None,
               given: TriggerInput | None = None, tasks: TaskRunner | None = None,
               resumes: Resumer | None = None) -> tuple[Finish, RunState]:
    """Every step until the execution finishes; a wait for a resume request gets what `resumes` answers, and
    other waits pass by moving the clock to their time."""
    state = RunState(trigger=trigger or graph.triggers[0], trigger_input=given or TriggerInput(),
                     execution_id="run", workflow_id="wf")
    counter = 0
    for _ in range(MAX_STEPS):
        steps = plan(workflow, graph, state, now)
        if not steps:
            if resumes is not None and _resume(state, resumes):
                continue
            wake = next_wake(state)
            if wake is None:
                raise RuntimeError("the execution is stuck: nothing to do and nothing to wait for")
            now = max(now, wake) + timedelta(microseconds=1)
            continue
        for step in steps:
            if isinstance(step, Finish):
                return step, state
            if isinstance(step, StartTasks):
                ids = []
                for request in step.requests:
                    counter += 1
                    task_id = f"task-{counter}"
                    ids.append(task_id)
                    if tasks is None:
                        raise RuntimeError(f"node {step.node} needs a task runner")
                    state.results[task_id] = tasks(step.node, request, task_id)
                apply_step(state, step, ids)
            elif isinstance(step, CompleteNode | StartWait):
                apply_step(state, step)
    raise RuntimeError("the execution did not finish")


def _resume(state: RunState, resumes: Resumer) -> bool:
    resumed = False
    for name, run in state.nodes.items():
        if run.status == "waiting" and run.resume is not None and run.resumed is None:
            run.resumed = resumes(name, run)
            resumed = resumed or run.resumed is not None
    return resumed
