"""The coordinator's fold and its cancel/drain/hand-back planning, from events alone (no servers)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from core.coordinator.controls import Controls
from core.coordinator.decisions import Decisions
from core.coordinator.fleet import Fleet, requirement_of
from core.coordinator.writer import Plan
from core.events import new_envelope
from core.events.agent import AgentDeregistered, AgentDrainRequested, AgentRegistered
from core.events.envelope import EventData, Recorded
from core.events.task import (
    TaskAssigned,
    TaskCancelled,
    TaskCancelRequested,
    TaskCreated,
    TaskEvent,
    TaskPinned,
    TaskQueued,
)
from core.messages import CancelTask, DrainAgent
from core.settings import Settings

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class World:
    def __init__(self) -> None:
        self.fleet = Fleet()
        self.decisions = Decisions()
        self.controls = Controls(self.fleet, self.decisions, cast(Any, None), Settings())
        self.seq = 0

    def add(self, aggregate_id: str, *events: EventData) -> None:
        for e in events:
            self.seq += 1
            env = new_envelope(e, event_id=f"e{self.seq}", aggregate_id=aggregate_id, occurred_at=T0, actor="test")
            self.fleet.apply(Recorded(seq=self.seq, envelope=env))

    def agent(self, agent_id: str) -> None:
        self.add(agent_id, AgentRegistered(name=agent_id, session_id=f"s-{agent_id}", capabilities={"echo": 1.0}))

    def plan(self) -> tuple[dict[str, list[EventData]], list[tuple[str, Any]]]:
        plans: list[Plan] = []

        def make(task_id: str, events: list[TaskEvent], seq: int) -> Plan:
            assert seq == self.fleet.tasks[task_id].last_seq
            return Plan(task_id, events, seq)

        self.controls.sweep()
        orders = self.controls.plan(plans, make)
        return {p.aggregate_id: list(p.events) for p in plans}, orders


CREATED = TaskCreated(title="t", capabilities=["echo"])


def test_what_a_cancel_takes_depends_on_who_holds_the_task() -> None:
    w = World()
    w.agent("a")
    w.agent("b")
    w.add("pending", CREATED, TaskCancelRequested())
    w.add("queued", CREATED, TaskQueued(attempt=1), TaskCancelRequested())
    w.add("on-a", CREATED, TaskQueued(attempt=1), TaskAssigned(agent_id="a", attempt=1), TaskCancelRequested())
    w.add("on-b", CREATED, TaskQueued(attempt=1), TaskAssigned(agent_id="b", attempt=1), TaskCancelRequested())
    w.add("b", AgentDeregistered(session_id="s-b"))
    assert list(w.fleet.cancelling) == ["pending", "queued", "on-a", "on-b"]
    decided, orders = w.plan()
    assert decided == {
        "pending": [TaskCancelled(attempt=0, reason="cancelled on request before it ran")],
        "queued": [TaskCancelled(attempt=1, reason="cancelled on request before it ran")],
        "on-b": [TaskCancelled(attempt=1, agent_id="b", reason="cancelled on request; agent b had gone offline")],
    }
    assert orders == [("a", CancelTask(task_id="on-a", attempt=1))]
    # Until the log shows the task ended, every sweep orders the agent again.
    assert w.plan()[1] == [("a", CancelTask(task_id="on-a", attempt=1))]
    w.add("on-a", TaskCancelled(attempt=1, agent_id="a"))
    w.add("pending", TaskCancelled(attempt=0))
    w.add("queued", TaskCancelled(attempt=1))
    w.add("on-b", TaskCancelled(attempt=1, agent_id="b"))
    assert w.fleet.cancelling == {} and w.plan() == ({}, [])
    assert w.fleet.agents["a"].candidate.in_flight == 0


def test_an_open_decision_defers_the_cancel() -> None:
    w = World()
    w.add("t", CREATED, TaskQueued(attempt=1), TaskCancelRequested())
    w.decisions.begin("t", [])
    assert w.plan() == ({}, [])
    w.decisions.abandon("t")
    assert list(w.plan()[0]) == ["t"]


def test_a_draining_agent_is_no_candidate_and_is_ordered_to_drain_until_it_deregisters() -> None:
    w = World()
    w.agent("a")
    w.add("a", AgentDrainRequested(session_id="s-a"))
    assert not w.fleet.agents["a"].candidate.online
    assert w.plan() == ({}, [("a", DrainAgent(session_id="s-a"))])
    w.add("a", AgentDeregistered(session_id="s-a"))
    assert w.plan() == ({}, [])


def test_an_agent_gone_offline_hands_back_what_it_never_started() -> None:
    w = World()
    w.agent("a")
    w.add("waiting", CREATED, TaskQueued(attempt=1), TaskAssigned(agent_id="a", attempt=1))
    assert w.plan() == ({}, [])
    w.add("a", AgentDeregistered(session_id="s-a"))
    assert w.plan() == ({"waiting": [TaskQueued(attempt=2)]}, [])
    w.add("waiting", TaskQueued(attempt=2))
    assert w.fleet.agents["a"].tasks == set() and w.plan() == ({}, [])


def test_a_pin_moves_a_queued_task_to_its_agents_own_queue() -> None:
    w = World()
    w.add("t", CREATED, TaskQueued(attempt=1))
    plain, pinned = requirement_of(CREATED), requirement_of(CREATED, "b")
    assert w.fleet.peek_ready(plain) == "t"
    w.add("t", TaskPinned(agent_id="b"))
    assert w.fleet.peek_ready(plain) is None and w.fleet.peek_ready(pinned) == "t"
    # Pinned before it was queued: straight into the agent's own queue.
    w.add("u", CREATED, TaskPinned(agent_id="c"), TaskQueued(attempt=1))
    assert w.fleet.peek_ready(requirement_of(CREATED, "c")) == "u"
