"""The agent fold and its drain decision (pure, table-driven)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core.domain import agent as a
from core.domain.agent import AgentStatus
from core.errors import DomainError
from core.events import new_envelope
from core.events.agent import AgentDeregistered, AgentDrainRequested, AgentRegistered

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def registered(session: str) -> AgentRegistered:
    return AgentRegistered(name="gpu", session_id=session, capabilities={"echo": 1.0})


def given(*events: Any) -> a.Agent | None:
    return a.fold([new_envelope(e, event_id=f"e{n}", aggregate_id="gpu-1", occurred_at=T0 + timedelta(seconds=n),
                                actor="test") for n, e in enumerate(events)])


@pytest.mark.parametrize(("history", "status"), [
    ([registered("s1")], AgentStatus.ONLINE),
    ([registered("s1"), AgentDrainRequested(session_id="s1")], AgentStatus.DRAINING),
    ([registered("s1"), AgentDrainRequested(session_id="s1"), AgentDeregistered(session_id="s1")], AgentStatus.OFFLINE),
    # A new session is a fresh start: the drain was for the one before.
    ([registered("s1"), AgentDrainRequested(session_id="s1"), registered("s2")], AgentStatus.ONLINE),
    ([registered("s2"), AgentDrainRequested(session_id="s1")], AgentStatus.ONLINE),
    ([registered("s1"), AgentDeregistered(session_id="s1"), AgentDrainRequested(session_id="s1")], AgentStatus.OFFLINE),
])
def test_the_fold(history: list[Any], status: AgentStatus) -> None:
    state = given(*history)
    assert state is not None and state.status is status


@pytest.mark.parametrize(("history", "expected"), [
    ([registered("s1")], [AgentDrainRequested(session_id="s1")]),
    ([registered("s1"), AgentDrainRequested(session_id="s1")], []),
    ([registered("s1"), AgentDeregistered(session_id="s1")], DomainError),
    ([], DomainError),
])
def test_request_drain(history: list[Any], expected: Any) -> None:
    state = given(*history)
    if expected is DomainError:
        with pytest.raises(DomainError):
            a.request_drain(state, "gpu-1")
    else:
        assert a.request_drain(state, "gpu-1") == expected


def test_a_draining_agent_repeating_its_registration_stays_draining() -> None:
    state = given(registered("s1"), AgentDrainRequested(session_id="s1"))
    assert a.register(state, registered("s1")) == []
