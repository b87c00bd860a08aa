"""The execution engine as a pure function: given the workflow and what has happened so far, what to do next.

An execution's state (the nodes that ran, their outputs, the tasks they wait on) is folded from its events;
`plan` reads it and answers steps: complete a node (a built-in computed here, or a task node whose tasks have
all ended), start a node's tasks, start a wait, or finish. n8n's semantics: a node runs once every input is
settled and at least one has items (a merge whose other branch was not taken runs with what it has); a node
whose inputs all came up empty does not run, nor do the nodes after it.
"""

from __future__ import annotations

from datetime import datetime

from core.workflows import expr_budget, node_tasks
from core.workflows.builtins import regular_outputs, run_builtin
from core.workflows.catalog import WAIT, Kind, kind_of
from core.workflows.context import RunView
from core.workflows.errors import ExpressionError, NodeFailed
from core.workflows.graph import Graph
from core.workflows.items import Item, Outputs
from core.workflows.model import Node, Workflow
from core.workflows.node_misc import trigger_items
from core.workflows.node_tasks import ItemResult, TaskRequest
from core.workflows.node_wait import plan_wait
from core.workflows.outcomes import NodeOutcome, continues, error_item, passed_through
from core.workflows.steps import (
    CompleteNode,
    Finish,
    NodeRun,
    RunState,
    StartTasks,
    StartWait,
    Step,
    apply_step,
    next_wake,
    resume_source,
)

__all__ = ["CompleteNode", "Finish", "NodeRun", "RunState", "StartTasks", "StartWait", "Step", "apply_step",
           "next_wake", "plan", "task_outcome", "topological", "view_of"]


def topological(graph: Graph) -> list[str]:
    order, indegree = [], {n: 0 for n in graph.nodes}
    for edges in graph.incoming.values():
        for e in edges:
            indegree[e.target] += 1
    ready = [n for n in graph.nodes if indegree[n] == 0]
    while ready:
        n = ready.pop(0)
        order.append(n)
        for out in graph.outgoing[n]:
            for e in out:
                indegree[e.target] -= 1
                if indegree[e.target] == 0:
                    ready.append(e.target)
    return order


def view_of(workflow: Workflow, state: RunState, now: datetime) -> RunView:
    outputs = {name: run.outputs for name, run in state.nodes.items() if run.outputs is not None}
    return RunView(outputs=outputs, now=now, execution_id=state.execution_id, workflow_id=state.workflow_id,
                   workflow_name=workflow.name, resume_url=state.resume_url)


def _inputs(graph: Graph, name: str, state: RunState, dead: set[str]) -> list[list[Item]] | None:
    """The node's inputs once every one is settled (its source ran or never will); None while one is not."""
    inputs: list[list[Item]] = [[] for _ in range(graph.input_count[name])]
    for e in graph.incoming[name]:
        if e.source in dead:
            continue
        run = state.nodes.get(e.source)
        if run is None or run.status != "completed" or run.outputs is None:
            return None
        if e.output < len(run.outputs):
            inputs[e.input] += run.outputs[e.output]
    return inputs


def _tasks_done(run: NodeRun, state: RunState) -> bool:
    return all(t in state.results for t in run.task_ids)


def plan(workflow: Workflow, graph: Graph, state: RunState, now: datetime) -> list[Step]:
    """The steps the execution can take now (empty: it waits for tasks or a wait's time)."""
    failed = next((n for n, r in state.nodes.items() if r.status == "failed"), None)
    if failed is not None:
        return [Finish(status="failed", node=failed, error=state.nodes[failed].error)]
    busy = [n for n, r in state.nodes.items() if r.status in ("running", "waiting")]
    if state.cancel_requested:
        if any(not _tasks_done(state.nodes[n], state) for n in busy):
            return []
        return [Finish(status="cancelled", error="cancelled on request")]
    view = view_of(workflow, state, now)
    steps: list[Step] = []
    dead: set[str] = set()
    for name in topological(graph):
        node = graph.nodes[name]
        assert isinstance(node, Node)
        run = state.nodes.get(name)
        if run is not None:
            with expr_budget.node_work():
                step = _continue(workflow, node, run, state, view, now)
            if step is not None:
                steps.append(step)
            continue
        kind = kind_of(node)
        if kind in (Kind.MODEL, Kind.IGNORED, None):
            dead.add(name)
            continue
        if kind is Kind.TRIGGER:
            if name != state.trigger:
                dead.add(name)
                continue
            items = trigger_items(workflow, node, state.trigger_input)
            steps.append(CompleteNode(name, NodeOutcome(outputs=[items]), fresh=True))
            continue
        inputs = _inputs(graph, name, state, dead)
        if inputs is None:
            continue
        if not any(inputs):
            dead.add(name)
            continue
        if node.execute_once:
            inputs = [row[:1] for row in inputs]
        with expr_budget.node_work():
            steps.append(_start(workflow, graph, node, inputs, view, now))
    if not steps and not busy:
        return [_finished(workflow, graph, state)]
    return steps


def _continue(workflow: Workflow, node: Node, run: NodeRun, state: RunState, view: RunView,
              now: datetime) -> Step | None:
    if run.status == "waiting" and run.resumed is not None:
        source = resume_source(run)
        paired = {**(source.paired if source is not None else {}), node.name: [0, 0]}
        return CompleteNode(node.name, NodeOutcome(outputs=[[Item(json=run.resumed, paired=paired)]]))
    if run.status == "waiting" and run.resume_at is not None and now >= run.resume_at:
        return CompleteNode(node.name, run_builtin(node, run.inputs, view))  # a time limit lets the items go on
    if run.status == "running" and _tasks_done(run, state):
        return CompleteNode(node.name, task_outcome(node, run, [state.results[t] for t in run.task_ids]))
    return None


def _start(workflow: Workflow, graph: Graph, node: Node, inputs: list[list[Item]], view: RunView,
           now: datetime) -> Step:
    kind = kind_of(node)
    if kind is Kind.TASK and not node.disabled:
        return _task_step(workflow, graph, node, inputs, view)
    if node.type == WAIT and not node.disabled:
        try:
            wait = plan_wait(node, inputs[0], view, now)
        except (NodeFailed, ExpressionError) as err:
            mode = continues(node)
            outcome = NodeOutcome(error=str(err)) if mode is None else passed_through(node, inputs[0], 1, mode)
            return CompleteNode(node.name, outcome, fresh=True)
        return StartWait(node.name, inputs, wait.resume_at, wait.resume)
    return CompleteNode(node.name, run_builtin(node, inputs, view), fresh=True)


def _task_step(workflow: Workflow, graph: Graph, node: Node, inputs: list[list[Item]], view: RunView) -> Step:
    items = inputs[0]
    requests: list[TaskRequest] = []
    prefailed: dict[int, str] = {}
    for i in range(len(items)):
        try:
            requests.append(node_tasks.task_request(workflow, node, graph.models.get(node.name, []), view, items, i))
        except (NodeFailed, ExpressionError) as err:
            if continues(node) is None:
                return CompleteNode(node.name, NodeOutcome(error=str(err)), fresh=True)
            prefailed[i] = str(err)
    return StartTasks(node.name, inputs, requests, prefailed)


def task_outcome(node: Node, run: NodeRun, results: list[ItemResult]) -> NodeOutcome:
    """A task node's outcome once all its tasks ended: per input item, its task's items (or error items)."""
    items = run.inputs[0] if run.inputs else []
    by_item: dict[int, ItemResult] = dict(zip(run.item_indexes, results, strict=True))
    for i, message in run.prefailed.items():
        by_item[i] = ItemResult(task_id="", ok=False, error=message)
    mode = continues(node)
    regular = regular_outputs(node)
    outputs: Outputs = [[] for _ in range(regular + (1 if mode == "error_output" else 0))]
    for i, source in enumerate(items):
        result = by_item.get(i)
        if result is None:
            continue
        passed = node_tasks.failure_passes(node, result) if not result.ok else None
        if result.ok or passed is not None:
            for data in passed if passed is not None else node_tasks.success_items(node, result):
                outputs[0].append(error_item(node, source, 0, len(outputs[0]), data))
            continue
        if mode is None:
            return NodeOutcome(error=f"item {i}: {result.error or 'task failed'}")
        target = 0 if mode == "regular" else regular
        data = node_tasks.error_json(node, result)
        if mode == "error_output":
            data = {**source.json, **data}
        outputs[target].append(error_item(node, source, target, len(outputs[target]), data))
    return NodeOutcome(outputs=outputs)


def _finished(workflow: Workflow, graph: Graph, state: RunState) -> Finish:
    last = None
    response = None
    for name in topological(graph):
        run = state.nodes.get(name)
        if run is not None and run.status == "completed":
            last = name
    if last is not None:
        outputs = state.nodes[last].outputs or []
        result = [{"json": i.json} for out in outputs for i in out]
    else:
        result = []
    for name in topological(graph):
        run = state.nodes.get(name)
        if run is not None and run.response is not None and response is None:
            response = run.response  # the first Respond to Webhook answers, as in n8n
    return Finish(status="completed", node=last, result=result, response=response)
