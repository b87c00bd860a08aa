"""Workflow events (v1): an n8n document stored under an id, in numbered versions. Appended by the gateway."""

from __future__ import annotations

from typing import Any

from core.events.envelope import EventData


class WorkflowEventData(EventData, frozen=True, kw_only=True):
    AGGREGATE = "workflow"


class WorkflowCreated(WorkflowEventData, frozen=True, kw_only=True):
    TYPE = "workflow.created.v1"
    name: str
    # The n8n export as uploaded (validated): nodes, connections, settings, pinData.
    document: dict[str, Any]
    version: int = 1


class WorkflowUpdated(WorkflowEventData, frozen=True, kw_only=True):
    """A new version: executions started from now on run it; running ones keep the version they started with."""

    TYPE = "workflow.updated.v1"
    name: str
    document: dict[str, Any]
    version: int


class WorkflowDeleted(WorkflowEventData, frozen=True, kw_only=True):
    TYPE = "workflow.deleted.v1"
    version: int


WorkflowEvent = WorkflowCreated | WorkflowUpdated | WorkflowDeleted

WORKFLOW_EVENTS: tuple[type[WorkflowEventData], ...] = (WorkflowCreated, WorkflowUpdated, WorkflowDeleted)
