"""The event catalog: tags are explicit and unique, envelopes round-trip, unknown tags are refused."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from core.domain import agent as agent_domain
from core.domain.agent import AgentStatus
from core.events import AGENT_EVENTS, TASK_EVENTS, decode_envelope, encode_envelope, new_envelope
from core.events.agent import AgentDeregistered, AgentRegistered, Hardware
from core.events.codec import UnknownEventType
from core.events.task import TaskCompleted, TaskResult

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_tags_are_versioned_and_unique() -> None:
    tags = [c.TYPE for c in TASK_EVENTS + AGENT_EVENTS]
    assert len(tags) == len(set(tags))
    assert all(tag.count(".") == 2 and tag.rsplit(".", 1)[1].startswith("v") for tag in tags)


def test_envelope_round_trips_with_type_in_envelope() -> None:
    env = new_envelope(TaskCompleted(agent_id="a", attempt=1, result=TaskResult(output="hi", exit_code=0)),
                       event_id="e1", aggregate_id="t1", occurred_at=NOW, actor="coordinator", correlation_id="c")
    raw = encode_envelope(env)
    assert msgspec.json.decode(raw)["type"] == "task.completed.v1"
    assert decode_envelope(raw) == env


def test_unknown_type_is_refused() -> None:
    raw = b'{"event_id":"1","type":"task.exploded.v9","aggregate":"task","aggregate_id":"t","occurred_at":' \
          b'"2026-01-01T00:00:00Z","actor":"x","data":{}}'
    with pytest.raises(UnknownEventType):
        decode_envelope(raw)


def test_added_fields_with_defaults_decode_old_events() -> None:
    old = b'{"event_id":"1","type":"task.created.v1","aggregate":"task","aggregate_id":"t","occurred_at":' \
          b'"2026-01-01T00:00:00Z","actor":"x","data":{"title":"old"}}'
    assert decode_envelope(old).data.max_attempts == 1


def _agent_env(data: object, n: int):  # type: ignore[no-untyped-def]
    return new_envelope(data, event_id=str(n), aggregate_id="gpu-1", occurred_at=NOW, actor="coordinator")  # type: ignore[type-var]


REG = AgentRegistered(name="gpu-1", session_id="s1", capabilities={"echo": 1.0}, max_concurrency=2,
                      hardware=Hardware(cpu_count=8))


def test_agent_registers_and_deregisters() -> None:
    state = agent_domain.evolve(None, _agent_env(REG, 1))
    assert (state.status, state.max_concurrency, state.hardware.cpu_count) == (AgentStatus.ONLINE, 2, 8)
    assert agent_domain.register(state, REG) == []  # same live session: a redelivered report
    assert agent_domain.register(state, msgspec.structs.replace(REG, session_id="s2")) != []
    assert agent_domain.deregister(state, "other-session", "shutdown") == []
    [event] = agent_domain.deregister(state, "s1", "shutdown")
    state = agent_domain.evolve(state, _agent_env(event, 2))
    assert state.status is AgentStatus.OFFLINE
    assert isinstance(event, AgentDeregistered)
