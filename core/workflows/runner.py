"""Runs a workflow to the end in memory, with a given task runner: for tests and dry runs. Pure but for the
runner callback; the coordinator's driver does the same through events and real tasks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from core.workflows.engine import CompleteNode, Finish, RunState, StartTasks, StartWait, apply_step, next_wake, plan
from core.workflows.graph import Graph
from core.workflows.model import Workflow
from core.workflows.node_misc import TriggerInput
from core.workflows.node_tasks import ItemResult, TaskRequest

TaskRunner = Callable[[str, TaskRequest, str], ItemResult]  # (node, request, task id) -> result
MAX_STEPS = 10_000


def run_to_end(workflow: Workflow, graph: Graph, now: datetime, trigger: str | None = None,
               given: TriggerInput | None = None, tasks: TaskRunner | None = None) -> tuple[Finish, RunState]:
    """Every step until the execution finishes; waits pass by moving the clock to their resume time."""
    state = RunState(trigger=trigger or graph.triggers[0], trigger_input=given or TriggerInput(),
                     execution_id="run", workflow_id="wf")
    counter = 0
    for _ in range(MAX_STEPS):
        steps = plan(workflow, graph, state, now)
        if not steps:
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
