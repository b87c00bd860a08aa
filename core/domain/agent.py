"""The agent aggregate: registration state as a fold, and the decisions on it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, assert_never

import msgspec

from core.errors import DomainError
from core.events.agent import AgentDeregistered, AgentDrainRequested, AgentEvent, AgentRegistered, Hardware


class AgentStatus(StrEnum):
    ONLINE = "online"
    # Asked to drain: takes no new work, finishes what it runs, then deregisters (offline).
    DRAINING = "draining"
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
        case AgentDrainRequested(session_id=session_id):
            if state is None:
                raise DomainError(f"agent {envelope.aggregate_id}: drained before registering")
            # Only the session it was meant for: a drain that raced a re-registration leaves the new one online.
            if state.status is AgentStatus.ONLINE and state.session_id == session_id:
                state.status, state.updated_at = AgentStatus.DRAINING, at
            return state
        case _:
            assert_never(event)


def fold(envelopes: list[Any]) -> Agent | None:
    state: Agent | None = None
    for envelope in envelopes:
        state = evolve(state, envelope)
    return state


def register(state: Agent | None, event: AgentRegistered) -> list[AgentEvent]:
    """A (re-)registration is recorded unless it repeats the live session exactly (a redelivered report)."""
    if state is not None and state.status is not AgentStatus.OFFLINE and state.session_id == event.session_id:
        return []
    return [event]


def deregister(state: Agent | None, session_id: str, reason: str) -> list[AgentEvent]:
    if state is None or state.status is AgentStatus.OFFLINE or state.session_id != session_id:
        return []
    return [AgentDeregistered(session_id=session_id, reason=reason)]


def request_drain(state: Agent | None, agent_id: str) -> list[AgentEvent]:
    """An admin's drain of the agent's current session: recorded once; an offline agent has nothing to drain."""
    if state is None:
        raise DomainError(f"no agent with id {agent_id!r} ever registered")
    if state.status is AgentStatus.OFFLINE:
        raise DomainError(f"agent {agent_id} is offline: there is nothing to drain")
    if state.status is AgentStatus.DRAINING:
        return []  # asked before: the drain is under way
    return [AgentDrainRequested(session_id=state.session_id)]
