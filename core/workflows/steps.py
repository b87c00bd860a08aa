"""An execution's state as the engine sees it (each node's run, the ended tasks' results), the steps the
engine answers, and how a step folds into the state (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec

from core.workflows.items import Item, Outputs
from core.workflows.node_misc import TriggerInput
from core.workflows.node_tasks import ItemResult, TaskRequest
from core.workflows.outcomes import NodeOutcome


class NodeRun(msgspec.Struct, kw_only=True):
    """One node of an execution: started (tasks or a wait under way), then completed or failed."""

    status: str  # "running" | "waiting" | "completed" | "failed"
    inputs: list[list[Item]] = []
    # Per task: the id, aligned with `item_indexes` (the input item it serves).
    task_ids: list[str] = []
    item_indexes: list[int] = []
    # Items whose task could not even be built, on a node that continues on failure: index -> error.
    prefailed: dict[int, str] = {}
    resume_at: datetime | None = None
    # A wait for a resume request ("webhook" | "form"), and the item json the request brought once it came.
    resume: str | None = None
    resumed: dict[str, Any] | None = None
    outputs: Outputs | None = None
    error: str | None = None
    response: dict[str, Any] | None = None


@dataclass
class RunState:
    trigger: str
    trigger_input: TriggerInput
    nodes: dict[str, NodeRun] = field(default_factory=dict)
    # Results of the execution's tasks that have ended, by task id.
    results: dict[str, ItemResult] = field(default_factory=dict)
    cancel_requested: bool = False
    execution_id: str = ""
    workflow_id: str = ""
    # Where a wait of this execution is resumed (`$execution.resumeUrl`).
    resume_url: str = ""


@dataclass(frozen=True)
class CompleteNode:
    node: str
    outcome: NodeOutcome
    # The node had not started (a built-in computed now, or a node that failed before it could start): its
    # node_started is recorded with its outcome.
    fresh: bool = False


@dataclass(frozen=True)
class StartTasks:
    node: str
    inputs: list[list[Item]]
    requests: list[TaskRequest]
    prefailed: dict[int, str]


@dataclass(frozen=True)
class StartWait:
    node: str
    inputs: list[list[Item]]
    resume_at: datetime | None
    resume: str | None = None


@dataclass(frozen=True)
class Finish:
    status: str  # "completed" | "failed" | "cancelled"
    error: str | None = None
    node: str | None = None  # the node that failed
    result: list[dict[str, Any]] | None = None
    response: dict[str, Any] | None = None


Step = CompleteNode | StartTasks | StartWait | Finish


def apply_step(state: RunState, step: Step, task_ids: list[str] | None = None) -> None:
    """Fold a step into the state, as its events will (lets `advance` chain built-ins without a round trip)."""
    if isinstance(step, CompleteNode):
        prev = state.nodes.get(step.node)
        run = prev or NodeRun(status="completed")
        run.status = "failed" if step.outcome.error is not None else "completed"
        run.outputs = step.outcome.outputs if step.outcome.error is None else None
        run.error = step.outcome.error
        run.response = step.outcome.response
        state.nodes[step.node] = run
    elif isinstance(step, StartTasks):
        ids = task_ids or []
        state.nodes[step.node] = NodeRun(status="running", inputs=step.inputs, task_ids=ids,
                                         item_indexes=[r.item_index for r in step.requests],
                                         prefailed=dict(step.prefailed))
    elif isinstance(step, StartWait):
        state.nodes[step.node] = NodeRun(status="waiting", inputs=step.inputs, resume_at=step.resume_at,
                                         resume=step.resume)


def next_wake(state: RunState) -> datetime | None:
    """The earliest time a waiting node resumes, if any waits with a time."""
    times = [r.resume_at for r in state.nodes.values() if r.status == "waiting" and r.resume_at is not None]
    return min(times) if times else None


def resume_source(run: NodeRun) -> Item | None:
    """The input item a resumed wait's item derives from (n8n pairs the webhook's one item with item 0)."""
    return run.inputs[0][0] if run.inputs and run.inputs[0] else None
