"""Builds the API's view of a task from its event history, when the read model has not caught up."""

from __future__ import annotations

from typing import Any

import msgspec

from core.domain.task import TaskStatus, fold
from core.events.envelope import Recorded
from core.events.task import TaskAssigned
from gateway.schemas import TaskView


def view_from_history(history: list[Recorded[Any]]) -> TaskView | None:
    task = fold([r.envelope for r in history])
    if task is None:
        return None
    assigned = [r.envelope.occurred_at for r in history if isinstance(r.envelope.data, TaskAssigned)]
    spec = task.spec
    return TaskView(
        id=task.id,
        status=str(task.status),
        title=spec.title,
        description=spec.description,
        prompt=spec.prompt,
        capabilities=list(spec.capabilities),
        model=spec.model,
        priority=spec.priority,
        payload=dict(spec.payload),
        depends_on=list(spec.depends_on),
        max_attempts=spec.max_attempts,
        timeout_s=spec.timeout_s,
        created_by=history[0].envelope.actor,
        assigned_agent_id=task.agent_id,
        attempt=task.attempt,
        result=msgspec.to_builtins(task.result) if task.result is not None else None,
        error=task.error,
        created_at=task.created_at,
        updated_at=task.updated_at,
        queued_at=task.queued_at,
        assigned_at=assigned[-1] if assigned else None,
        started_at=task.started_at,
        finished_at=task.finished_at,
        seq=history[-1].seq,
        pinned_agent_id=task.pinned_agent_id,
        cancel_requested_at=task.cancel_requested_at,
        failure_reason=task.failure_reason,
        retry_at=task.not_before if task.status is TaskStatus.QUEUED else None,
        dead_lettered=task.dead_lettered,
    )
