"""The agent aggregate: registration state as a fold."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, assert_never

import msgspec

from core.errors import DomainError
from core.events.agent import AgentDeregistered, AgentEvent, AgentRegistered, Hardware


class AgentStatus(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"


class Agent(msgspec.Struct, kw_only=True):
    id: str
    name: str
    session_id: str
    status: AgentStatus
    capabilities: dict[str, float]
    models: list[str]
    max_concurrency: int
    executor: str
    hardware: Hardware
    registered_at: datetime
    updated_at: datetime


def evolve(state: Agent | None, envelope: Any) -> Agent:
    event: AgentEvent = envelope.data
    at: datetime = envelope.occurred_at
    match event:
        case AgentRegistered():
            return Agent(
                id=envelope.aggregate_id,
                name=event.name,
                session_id=event.session_id,
                status=AgentStatus.ONLINE,
                capabilities=dict(event.capabilities),
                models=list(event.models),
                max_concurrency=event.max_concurrency,
                executor=event.executor,
                hardware=event.hardware,
                registered_at=at,
                updated_at=at,
            )
        case AgentDeregistered():
            if state is None:
                raise DomainError(f"agent {envelope.aggregate_id}: deregistered before registering")
            state.status, state.updated_at = AgentStatus.OFFLINE, at
            return state
        case _:
            assert_never(event)


def register(state: Agent | None, event: AgentRegistered) -> list[AgentEvent]:
    """A (re-)registration is recorded unless it repeats the live session exactly (a redelivered report)."""
    if state is not None and state.status is AgentStatus.ONLINE and state.session_id == event.session_id:
        return []
    return [event]


def deregister(state: Agent | None, session_id: str, reason: str) -> list[AgentEvent]:
    if state is None or state.status is AgentStatus.OFFLINE or state.session_id != session_id:
        return []
    return [AgentDeregistered(session_id=session_id, reason=reason)]
