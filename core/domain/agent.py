"""The agent aggregate: registration state as a fold, and the decisions on it."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, assert_never

import msgspec

from core.errors import DomainError
from core.events.agent import (
    AgentCircuitClosed,
    AgentCircuitOpened,
    AgentDeregistered,
    AgentDrainRequested,
    AgentEvent,
    AgentLost,
    AgentRecovered,
    AgentRegistered,
    Hardware,
)


class AgentStatus(StrEnum):
    ONLINE = "online"
    # Asked to drain: takes no new work, finishes what it runs, then deregisters (offline).
    DRAINING = "draining"
    OFFLINE = "offline"
    # Silent past the heartbeat window: its work was re-queued; it may come back (recovered) or re-register.
    LOST = "lost"


# No longer running anything the coordinator can count on: what it held is handed back or re-queued.
GONE = frozenset({AgentStatus.OFFLINE, AgentStatus.LOST})


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
    # The circuit breaker: no placements before this time (None: closed).
    circuit_open_until: datetime | None = None
    circuit_failures: int = 0
    lost_at: datetime | None = None


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
            state = _known(state, envelope)
            # Only the session it was meant for: a drain that raced a re-registration leaves the new one online.
            if state.status is AgentStatus.ONLINE and state.session_id == session_id:
                state.status, state.updated_at = AgentStatus.DRAINING, at
            return state
        case AgentLost(session_id=session_id):
            state = _known(state, envelope)
            if state.session_id == session_id and state.status not in GONE:
                state.status, state.lost_at, state.updated_at = AgentStatus.LOST, at, at
            return state
        case AgentRecovered(session_id=session_id):
            state = _known(state, envelope)
            if state.session_id == session_id and state.status is AgentStatus.LOST:
                state.status, state.lost_at, state.updated_at = AgentStatus.ONLINE, None, at
            return state
        case AgentCircuitOpened(failures=failures, until=until):
            state = _known(state, envelope)
            # Re-opening never shortens a longer cooldown already set.
            current = state.circuit_open_until
            state.circuit_open_until = until if current is None or until > current else current
            state.circuit_failures, state.updated_at = failures, at
            return state
        case AgentCircuitClosed():
            state = _known(state, envelope)
            state.circuit_open_until, state.circuit_failures, state.updated_at = None, 0, at
            return state
        case _:
            assert_never(event)


def _known(state: Agent | None, envelope: Any) -> Agent:
    if state is None:
        raise DomainError(f"agent {envelope.aggregate_id}: {envelope.type} before registering")
    return state


def fold(envelopes: list[Any]) -> Agent | None:
    state: Agent | None = None
    for envelope in envelopes:
        state = evolve(state, envelope)
    return state


def register(state: Agent | None, event: AgentRegistered) -> list[AgentEvent]:
    """A (re-)registration is recorded unless it repeats the live session exactly (a redelivered report)."""
    if state is not None and state.status not in GONE and state.session_id == event.session_id:
        return []
    return [event]


def deregister(state: Agent | None, session_id: str, reason: str) -> list[AgentEvent]:
    # A lost session may still say goodbye (it was only cut off): that ends it as offline.
    if state is None or state.status is AgentStatus.OFFLINE or state.session_id != session_id:
        return []
    return [AgentDeregistered(session_id=session_id, reason=reason)]


def request_drain(state: Agent | None, agent_id: str) -> list[AgentEvent]:
    """An admin's drain of the agent's current session: recorded once; an offline agent has nothing to drain."""
    if state is None:
        raise DomainError(f"no agent with id {agent_id!r} ever registered")
    if state.status in GONE:
        raise DomainError(f"agent {agent_id} is {state.status}: there is nothing to drain")
    if state.status is AgentStatus.DRAINING:
        return []  # asked before: the drain is under way
    return [AgentDrainRequested(session_id=state.session_id)]


def declare_lost(state: Agent, last_seen_at: datetime, now: datetime, window_s: float) -> list[AgentEvent]:
    """The session has been silent past the window: it is lost (unless it already left)."""
    silent = (now - last_seen_at).total_seconds()
    if state.status in GONE or silent <= window_s:
        return []
    return [AgentLost(session_id=state.session_id, last_seen_at=last_seen_at, silent_s=round(silent, 3))]


def recover(state: Agent, session_id: str) -> list[AgentEvent]:
    """A heartbeat from a lost session: it is back."""
    if state.status is not AgentStatus.LOST or state.session_id != session_id:
        return []
    return [AgentRecovered(session_id=session_id)]


def open_circuit(state: Agent, failures: int, now: datetime, cooldown_s: float) -> list[AgentEvent]:
    """`failures` runs in a row failed on the agent: stop placing work on it until now + cooldown (a longer
    cooldown already set stays)."""
    until = now + timedelta(seconds=cooldown_s)
    if state.circuit_open_until is not None and state.circuit_open_until >= until:
        return []
    return [AgentCircuitOpened(failures=failures, until=until)]


def close_circuit(state: Agent) -> list[AgentEvent]:
    return [AgentCircuitClosed()] if state.circuit_open_until is not None else []
