"""Agent events (v1): what the coordinator records about the fleet."""

from __future__ import annotations

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


AgentEvent = AgentRegistered | AgentDeregistered | AgentDrainRequested

AGENT_EVENTS: tuple[type[AgentEventData], ...] = (AgentRegistered, AgentDeregistered, AgentDrainRequested)
