"""The Hive tasks of a workflow node (pure): deterministic ids, and the TaskCreated of each item's request."""

from __future__ import annotations

import uuid
from typing import Any

from core.domain.task import TaskStatus
from core.events.task import TaskCreated
from core.workflows.graph import Graph
from core.workflows.node_tasks import TaskRequest

_NS = uuid.UUID("9b0f9c1e-8a41-4f0e-9d37-6f3c2f1d5a10")
TITLE_MAX = 200
DEPENDS_MAX = 100


def node_task_id(execution_id: str, node: str, item_index: int) -> str:
    """The same node item of the same execution always gets the same task id: a decision made again after a
    crash creates nothing twice (the second TaskCreated finds its subject taken)."""
    return str(uuid.uuid5(_NS, f"{execution_id}\x00{node}\x00{item_index}"))


def upstream_tasks(graph: Graph, node: str, task_ids: dict[str, list[str]],
                   status_of: Any) -> list[str]:
    """The completed tasks of the task nodes feeding `node` directly: its tasks depend on them (for the audit
    trail; they have all ended by now). A failed one is left out, or the new task would fail with it."""
    out: list[str] = []
    for edge in graph.incoming.get(node, []):
        for task_id in task_ids.get(edge.source, []):
            if status_of(task_id) is TaskStatus.COMPLETED and task_id not in out:
                out.append(task_id)
    return out[:DEPENDS_MAX]


def task_created(request: TaskRequest, *, execution_id: str, workflow_id: str, node: str,
                 depends_on: list[str]) -> TaskCreated:
    title = f"{node} #{request.item_index}"
    return TaskCreated(
        title=title[:TITLE_MAX],
        description=f"workflow {workflow_id}, execution {execution_id}, node {node!r}, item {request.item_index}",
        prompt=request.prompt,
        capabilities=list(request.capabilities),
        model=request.model,
        payload=dict(request.payload),
        depends_on=depends_on,
        max_attempts=request.max_attempts,
        timeout_s=request.timeout_s,
    )
