"""The role → permission matrix: which role may do what (admin all; developer builds; viewer reads)."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Permission(StrEnum):
    TASKS_VIEW = "tasks.view"
    TASKS_CREATE = "tasks.create"
    TASKS_CANCEL = "tasks.cancel"
    TASKS_ASSIGN = "tasks.assign"
    AGENTS_VIEW = "agents.view"
    AGENTS_DRAIN = "agents.drain"
    WORKFLOWS_VIEW = "workflows.view"
    # The names are also the rate-limit actions (workflows.create, executions.start in the settings).
    WORKFLOWS_CREATE = "workflows.create"
    WORKFLOWS_UPDATE = "workflows.update"
    WORKFLOWS_DELETE = "workflows.delete"
    EXECUTIONS_VIEW = "executions.view"
    EXECUTIONS_START = "executions.start"
    EXECUTIONS_CANCEL = "executions.cancel"
    STATUS_VIEW = "status.view"
    ALERTS_VIEW = "alerts.view"
    # The whole log through GET /api/audit (every aggregate, every actor); an aggregate's own history needs
    # only that aggregate's view permission.
    AUDIT_VIEW = "audit.view"


# A grant is a permission name or `<resource>.*`; "*" grants everything.
ROLE_GRANTS: dict[str, frozenset[str]] = {
    "admin": frozenset({"*"}),
    # Developers create tasks, so they may cancel them; pinning a task and draining an agent are admins'.
    "developer": frozenset({"workflows.*", "executions.*", "tasks.view", "tasks.create", "tasks.cancel",
                            "agents.view", "status.view"}),
    # Viewers read everything, so auditors are viewers. Developers do not get the whole log: it holds
    # alerts and every user's intent, beyond the resources they may read.
    "viewer": frozenset({"tasks.view", "agents.view", "workflows.view", "executions.view", "status.view",
                         "alerts.view", "audit.view"}),
    # Sidecars talk to NATS on their own subjects, never to the HTTP API.
    "agent": frozenset(),
}


def _grants(grant: str, permission: str) -> bool:
    if grant == "*" or grant == permission:
        return True
    return grant.endswith(".*") and permission.startswith(grant[:-1])


def allows(roles: Iterable[str], permission: str) -> bool:
    """True when any of `roles` grants `permission`; unknown roles grant nothing."""
    return any(_grants(g, permission) for role in roles for g in ROLE_GRANTS.get(role, ()))
