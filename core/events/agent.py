"""Agent events (v1): what the coordinator records about the fleet."""

from __future__ import annotations

from datetime import datetime

import msgspec

from core.events.envelope import EventData


class Gpu(msgspec.Struct, frozen=True, kw_only=True):
    index: int
    name: str
    memory_total_mb: int


class Hardware(msgspec.Struct, frozen=True, kw_only=True):
    hostname: str = ""
    cpu_count: int = 0
    memory_total_mb: int = 0
    gpus: list[Gpu] = []


class AgentEventData(EventData, frozen=True, kw_only=True):
    AGGREGATE = "agent"


class AgentRegistered(AgentEventData, frozen=True, kw_only=True):
    TYPE = "agent.registered.v1"
    name: str
    session_id: str
    # capability name -> proficiency in [0, 1]
    capabilities: dict[str, float]
    models: list[str] = []
    max_concurrency: int = 1
    executor: str = ""
    hardware: Hardware = Hardware()
    version: str = ""


class AgentDeregistered(AgentEventData, frozen=True, kw_only=True):
    TYPE = "agent.deregistered.v1"
    session_id: str
    reason: str = "shutdown"


class AgentDrainRequested(AgentEventData, frozen=True, kw_only=True):
    """An admin asked the agent's session to drain: no new work; it finishes what it runs, then deregisters."""

    TYPE = "agent.drain_requested.v1"
    session_id: str


class AgentLost(AgentEventData, frozen=True, kw_only=True):
    """No heartbeat from the session for the configured window: its tasks are re-queued as new attempts, and
    any later report from it about those attempts is rejected (fencing)."""

    TYPE = "agent.lost.v1"
    session_id: str
    # The last heartbeat seen (or, with none, when the coordinator began watching).
    last_seen_at: datetime
    silent_s: float


class AgentRecovered(AgentEventData, frozen=True, kw_only=True):
    """A lost session heartbeats again (it was paused or cut off, not dead): it takes work again."""

    TYPE = "agent.recovered.v1"
    session_id: str


class AgentCircuitOpened(AgentEventData, frozen=True, kw_only=True):
    """`failures` runs failed on the agent in a row: no placements on it until `until` (never shortened by a
    later opening with an earlier end). After it, one run is tried (half-open): success closes, failure re-opens."""

    TYPE = "agent.circuit_opened.v1"
    failures: int
    until: datetime


class AgentCircuitClosed(AgentEventData, frozen=True, kw_only=True):
    """A run completed on the agent after its circuit opened: placements are back to normal."""

    TYPE = "agent.circuit_closed.v1"


AgentEvent = (AgentRegistered | AgentDeregistered | AgentDrainRequested | AgentLost | AgentRecovered
              | AgentCircuitOpened | AgentCircuitClosed)

AGENT_EVENTS: tuple[type[AgentEventData], ...] = (
    AgentRegistered, AgentDeregistered, AgentDrainRequested, AgentLost, AgentRecovered, AgentCircuitOpened,
    AgentCircuitClosed,
)
