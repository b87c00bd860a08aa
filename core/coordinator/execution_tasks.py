"""The Hive tasks of a workflow node (pure): deterministic ids, the TaskCreated of each item's request, and
the results of those that ended."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from core.coordinator.fleet import TaskEntry
from core.domain import task as task_domain
from core.domain.task import TaskStatus
from core.events.task import TaskCreated
from core.workflows.graph import Graph
from core.workflows.node_tasks import ItemResult, TaskRequest
from core.workflows.steps import NodeRun

_NS = uuid.UUID("9b0f9c1e-8a41-4f0e-9d37-6f3c2f1d5a10")
TITLE_MAX = 200
DEPENDS_MAX = 100


def node_task_id(execution_id: str, node: str, item_index: int) -> str:
    """The same node item of the same execution always gets the same task id: a decision made again after a
    crash creates nothing twice (the second TaskCreated finds its subject taken). It is a UUIDv5 hash stamped
    version 8 (RFC 9562's own-use version), so the id itself says "a workflow node's task" (is_node_task)."""
    digest = bytearray(uuid.uuid5(_NS, f"{execution_id}\x00{node}\x00{item_index}").bytes)
    digest[6] = (digest[6] & 0x0F) | 0x80
    return str(uuid.UUID(bytes=bytes(digest)))


def is_node_task(task_id: str) -> bool:
    """Whether a task id is a workflow node's: a test cheap enough for every task event in the fleet. Other
    task ids are UUIDv7 (the gateway) or v5 (an idempotency key), never v8."""
    return len(task_id) == 36 and task_id[14] == "8"


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


def ended_results(tasks: Mapping[str, TaskEntry], nodes: Iterable[NodeRun],
                  failed_output: Mapping[str, str]) -> dict[str, ItemResult]:
    """What each ended task of these nodes gave: its output, or its error and what it printed when it failed
    (an HTTP error response, for the node's error output)."""
    out: dict[str, ItemResult] = {}
    for run in nodes:
        for task_id in run.task_ids:
            entry = tasks.get(task_id)
            if entry is None or not task_domain.is_terminal(entry.task):
                continue
            task = entry.task
            ok = task.status is TaskStatus.COMPLETED
            output = task.result.output if ok and task.result is not None else failed_output.get(task_id, "")
            out[task_id] = ItemResult(task_id=task_id, ok=ok, output=output,
                                      error="" if ok else (task.error or str(task.status)))
    return out
