"""The workflow aggregate: a named n8n document in numbered versions, as a fold; decisions return events."""

from __future__ import annotations

from datetime import datetime
from typing import Any, assert_never

import msgspec

from core.errors import DomainError
from core.events.envelope import Envelope
from core.events.workflow import WorkflowCreated, WorkflowDeleted, WorkflowEvent, WorkflowUpdated


class WorkflowState(msgspec.Struct, kw_only=True):
    id: str
    name: str
    document: dict[str, Any]
    version: int
    created_by: str
    created_at: datetime
    updated_at: datetime
    deleted: bool = False


def evolve(state: WorkflowState | None, envelope: Envelope[Any]) -> WorkflowState:
    event: WorkflowEvent = envelope.data
    at = envelope.occurred_at
    if state is None:
        if not isinstance(event, WorkflowCreated):
            raise DomainError(f"workflow {envelope.aggregate_id}: history must start with workflow.created.v1")
        return WorkflowState(id=envelope.aggregate_id, name=event.name, document=event.document,
                             version=event.version, created_by=envelope.actor, created_at=at, updated_at=at)
    state = msgspec.structs.replace(state, updated_at=at)
    match event:
        case WorkflowCreated():
            raise DomainError(f"workflow {state.id}: created twice")
        case WorkflowUpdated(name=name, document=document, version=version):
            state.name, state.document, state.version = name, document, version
        case WorkflowDeleted(version=version):
            state.deleted, state.version = True, version
        case _:
            assert_never(event)
    return state


def fold(envelopes: list[Envelope[Any]]) -> WorkflowState | None:
    state: WorkflowState | None = None
    for envelope in envelopes:
        state = evolve(state, envelope)
    return state


def create(name: str, document: dict[str, Any]) -> list[WorkflowEvent]:
    return [WorkflowCreated(name=name, document=document, version=1)]


def update(state: WorkflowState, name: str, document: dict[str, Any]) -> list[WorkflowEvent]:
    if state.deleted:
        raise DomainError(f"workflow {state.id} was deleted: create a new one")
    return [WorkflowUpdated(name=name, document=document, version=state.version + 1)]


def delete(state: WorkflowState) -> list[WorkflowEvent]:
    if state.deleted:
        raise DomainError(f"workflow {state.id} is already deleted")
    return [WorkflowDeleted(version=state.version)]


def executable(state: WorkflowState) -> None:
    if state.deleted:
        raise DomainError(f"workflow {state.id} was deleted: it cannot run")
