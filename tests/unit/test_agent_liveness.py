"""Lost agents, circuit breakers and priority aging: the agent aggregate, the coordinator's fold (Fleet) and the
planners that turn it into agent events (Breakers, Liveness), from events alone with fixed times."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

from core.coordinator.breakers import Breakers
from core.coordinator.decisions import Decisions
from core.coordinator.fleet import Fleet, requirement_of
from core.coordinator.liveness import Liveness
from core.coordinator.scheduler import Scheduler
from core.coordinator.writer import Plan
from core.domain import agent as a
from core.domain.agent import AgentStatus
from core.events import new_envelope
from core.events.agent import (
    AgentCircuitClosed,
    AgentCircuitOpened,
    AgentDeregistered,
    AgentDrainRequested,
    AgentLost,
    AgentRecovered,
    AgentRegistered,
)
from core.events.envelope import EventData, Recorded
from core.events.task import (
    TaskAssigned,
    TaskCancelled,
    TaskCancelRequested,
    TaskCompleted,
    TaskCreated,
    TaskFailed,
    TaskQueued,
    TaskResult,
    TaskRetryScheduled,
    TaskStarted,
    TaskTimedOut,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def s(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def registered(session: str = "s1") -> AgentRegistered:
    return AgentRegistered(name="n", session_id=session, capabilities={"echo": 1.0})


def agent_after(*events: EventData) -> a.Agent:
    state = a.fold([new_envelope(e, event_id=f"e{i}", aggregate_id="a", occurred_at=s(i), actor="test")
                    for i, e in enumerate(events)])
    assert state is not None
    return state


# -- the agent aggregate -------------------------------------------------------------------------


def test_an_agent_silent_past_the_window_is_lost() -> None:
    state = agent_after(registered())
    assert a.declare_lost(state, s(10), s(25), 15.0) == []  # exactly the window: not yet
    assert a.declare_lost(state, s(10), s(25.5), 15.0) == [AgentLost(session_id="s1", last_seen_at=s(10), silent_s=15.5)]


def test_a_draining_agent_can_be_lost_too() -> None:
    state = agent_after(registered(), AgentDrainRequested(session_id="s1"))
    assert state.status is AgentStatus.DRAINING
    assert [type(e) for e in a.declare_lost(state, s(0), s(100), 15.0)] == [AgentLost]


@pytest.mark.parametrize("gone", [AgentDeregistered(session_id="s1"),
                                  AgentLost(session_id="s1", last_seen_at=T0, silent_s=20.0)])
def test_an_offline_or_lost_agent_is_not_declared_lost(gone: EventData) -> None:
    assert a.declare_lost(agent_after(registered(), gone), s(0), s(1000), 15.0) == []


def test_the_fold_marks_only_the_current_session_lost() -> None:
    lost = agent_after(registered(), AgentLost(session_id="s1", last_seen_at=T0, silent_s=20.0))
    assert (lost.status, lost.lost_at) == (AgentStatus.LOST, s(1))
    # A loss decided about an older session, folded after the agent re-registered, leaves the new one alone.
    stale = agent_after(registered("s1"), registered("s2"), AgentLost(session_id="s1", last_seen_at=T0, silent_s=20.0))
    assert (stale.status, stale.lost_at) == (AgentStatus.ONLINE, None)


def test_only_the_same_lost_session_recovers() -> None:
    lost = agent_after(registered(), AgentLost(session_id="s1", last_seen_at=T0, silent_s=20.0))
    assert a.recover(lost, "s1") == [AgentRecovered(session_id="s1")]
    assert a.recover(lost, "s2") == []
    assert a.recover(agent_after(registered()), "s1") == []  # online: nothing to recover from
    back = agent_after(registered(), AgentLost(session_id="s1", last_seen_at=T0, silent_s=20.0),
                       AgentRecovered(session_id="s1"))
    assert (back.status, back.lost_at) == (AgentStatus.ONLINE, None)
    # A recovery of another session changes nothing.
    still = agent_after(registered(), AgentLost(session_id="s1", last_seen_at=T0, silent_s=20.0),
                        AgentRecovered(session_id="s0"))
    assert still.status is AgentStatus.LOST


def test_a_lost_agent_may_still_deregister_and_re_register() -> None:
    lost = agent_after(registered(), AgentLost(session_id="s1", last_seen_at=T0, silent_s=20.0))
    assert a.deregister(lost, "s1", "shutdown") == [AgentDeregistered(session_id="s1", reason="shutdown")]
    # Its own session registering again is recorded (it is gone, so this is no redelivery).
    assert a.register(lost, registered("s1")) == [registered("s1")]


def test_opening_and_closing_the_circuit() -> None:
    closed = agent_after(registered())
    assert a.close_circuit(closed) == []
    assert a.open_circuit(closed, 5, s(10), 60.0) == [AgentCircuitOpened(failures=5, until=s(70))]
    opened = agent_after(registered(), AgentCircuitOpened(failures=5, until=s(70)))
    assert (opened.circuit_open_until, opened.circuit_failures) == (s(70), 5)
    # A later opening that ends no later is no change; one that ends later extends it.
    assert a.open_circuit(opened, 6, s(5), 60.0) == []
    assert a.open_circuit(opened, 6, s(10), 60.0) == []
    assert a.open_circuit(opened, 6, s(11), 60.0) == [AgentCircuitOpened(failures=6, until=s(71))]
    assert a.close_circuit(opened) == [AgentCircuitClosed()]
    shut = agent_after(registered(), AgentCircuitOpened(failures=5, until=s(70)), AgentCircuitClosed())
    assert (shut.circuit_open_until, shut.circuit_failures) == (None, 0)


def test_the_fold_never_shortens_an_open_circuit() -> None:
    state = agent_after(registered(), AgentCircuitOpened(failures=3, until=s(100)),
                        AgentCircuitOpened(failures=4, until=s(50)))
    assert (state.circuit_open_until, state.circuit_failures) == (s(100), 4)
    longer = agent_after(registered(), AgentCircuitOpened(failures=3, until=s(100)),
                         AgentCircuitOpened(failures=4, until=s(150)))
    assert longer.circuit_open_until == s(150)


def test_re_registering_resets_lost_and_circuit_state() -> None:
    state = agent_after(registered("s1"), AgentCircuitOpened(failures=3, until=s(100)),
                        AgentLost(session_id="s1", last_seen_at=T0, silent_s=20.0), registered("s2"))
    assert (state.status, state.session_id, state.lost_at) == (AgentStatus.ONLINE, "s2", None)
    assert (state.circuit_open_until, state.circuit_failures) == (None, 0)


# -- the fleet -----------------------------------------------------------------------------------


class World:
    """A Fleet built by applying recorded events, each at the time given."""

    def __init__(self, aging_s: float = 10.0) -> None:
        self.fleet = Fleet(aging_s)
        self.decisions = Decisions()
        self.seq = 0

    def add(self, aggregate_id: str, *events: EventData, at: datetime = T0) -> None:
        for e in events:
            self.seq += 1
            env = new_envelope(e, event_id=f"e{self.seq}", aggregate_id=aggregate_id, occurred_at=at, actor="test")
            self.fleet.apply(Recorded(seq=self.seq, envelope=env))

    def agent(self, agent_id: str, session: str = "s1", at: datetime = T0) -> None:
        self.add(agent_id, AgentRegistered(name=agent_id, session_id=session, capabilities={"echo": 1.0}), at=at)

    def commit(self, plans: list[Plan], at: datetime) -> None:
        """Fold the planned events back, as the log would deliver them."""
        for plan in plans:
            assert plan.expected_seq == self.fleet.agents[plan.aggregate_id].last_seq
            self.add(plan.aggregate_id, *plan.events, at=at)

    def run(self, task_id: str, agent_id: str, attempt: int = 1, through_heap: bool = True) -> None:
        """Create (on attempt 1) and put `task_id` on `agent_id`, running; placed from the ready heap as the
        scheduler's _place does (peek, pop, assign) unless `through_heap` is false (_advance_pending's queue and
        assign in one decision)."""
        if attempt == 1:
            self.add(task_id, TaskCreated(title="t", capabilities=["echo"], max_attempts=9), TaskQueued(attempt=1))
            if through_heap:
                assert self.fleet.peek_ready(NEED) == task_id
                self.fleet.pop_ready(NEED)
        self.add(task_id, TaskAssigned(agent_id=agent_id, attempt=attempt), TaskStarted(agent_id=agent_id,
                                                                                        attempt=attempt))

    def streak(self, agent_id: str) -> int:
        return self.fleet.agents[agent_id].failure_streak


def retry(attempt: int, agent_id: str, reason: str = "executor_error", at: datetime = T0) -> TaskRetryScheduled:
    return TaskRetryScheduled(attempt=attempt, next_attempt=attempt + 1, agent_id=agent_id, reason=reason, error="x",
                              not_before=at)


NEED = requirement_of(TaskCreated(title="t", capabilities=["echo"]))


def queue_at(w: World, task_id: str, priority: int, at: datetime) -> None:
    w.add(task_id, TaskCreated(title="t", capabilities=["echo"], priority=priority), at=T0)
    w.add(task_id, TaskQueued(attempt=1), at=at)


@pytest.mark.parametrize(("head_start", "first"), [(25, "low"), (21, "low"), (20, "low"), (19, "high"), (15, "high"),
                                                   (0, "high")])
def test_priority_ages_one_level_per_aging_period(head_start: int, first: str) -> None:
    # aging_s = 10: two levels are worth 20 s of waiting (a tie goes to the one queued first).
    w = World(aging_s=10.0)
    queue_at(w, "low", 0, T0)
    queue_at(w, "high", 2, s(head_start))
    assert w.fleet.peek_ready(NEED) == first


def test_first_queued_goes_first_within_a_priority() -> None:
    w = World()
    queue_at(w, "second", 1, s(5))
    queue_at(w, "first", 1, s(1))
    queue_at(w, "third", 1, s(5))  # the same time as "second": the log order decides
    order = []
    while (task_id := w.fleet.peek_ready(NEED)) is not None:
        order.append(task_id)
        w.fleet.pop_ready(NEED)
    assert order == ["first", "second", "third"]


def test_a_retry_waits_out_its_backoff_before_it_is_ready() -> None:
    w = World()
    w.agent("a")
    w.run("t1", "a")
    w.add("t1", retry(1, "a", at=s(30)), at=s(2))
    w.run("t2", "a")
    w.add("t2", retry(1, "a", at=s(40)), at=s(2))
    assert w.fleet.peek_ready(NEED) is None
    assert w.fleet.release_due(s(29)) == s(30)
    assert w.fleet.peek_ready(NEED) is None
    assert w.fleet.release_due(s(30)) == s(40)
    assert w.fleet.peek_ready(NEED) == "t1"
    assert w.fleet.release_due(s(45)) is None
    w.fleet.pop_ready(NEED)
    assert w.fleet.peek_ready(NEED) == "t2"


def test_a_retry_of_a_task_placed_straight_from_pending_still_waits_out_its_backoff() -> None:
    w = World()
    w.agent("a")
    # Assigned in the decision that queued it; with the agent's one slot taken, _place never peeks to drop it.
    w.run("t1", "a", through_heap=False)
    w.add("t1", retry(1, "a", at=s(30)), at=s(2))
    assert w.fleet.release_due(s(5)) == s(30)
    assert w.fleet.peek_ready(NEED) is None


def test_the_scheduler_does_not_place_a_retry_before_its_backoff_ends() -> None:
    w = World()
    w.agent("a")  # one slot
    scheduler = Scheduler(w.fleet, w.decisions, cast(Any, None), cast(Any, None))
    created = TaskCreated(title="t", capabilities=["echo"], max_attempts=3)
    w.add("t1", created)
    scheduler.note(new_envelope(created, event_id="n", aggregate_id="t1", occurred_at=T0, actor="test"))
    plans: list[Plan] = []
    scheduler._advance_pending(plans, {}, w.fleet.candidates())
    [plan] = plans
    assert list(plan.events) == [TaskQueued(attempt=1), TaskAssigned(agent_id="a", attempt=1)]
    w.add("t1", *plan.events, at=s(1))
    assert plan.on_settled is not None
    plan.on_settled()
    w.add("t1", TaskStarted(agent_id="a", attempt=1), retry(1, "a", at=s(30)), at=s(2))
    assert w.fleet.agents["a"].candidate.free_slots == 1
    w.fleet.release_due(s(5))
    plans = []
    scheduler._place(plans, {}, w.fleet.candidates())
    assert plans == []


@pytest.mark.parametrize(("since", "waiting"), [
    ([TaskCancelRequested(), TaskCancelled(attempt=2, reason="r")], []),  # cancelled while waiting
    ([TaskAssigned(agent_id="a", attempt=2)], []),  # placed meanwhile
    ([TaskAssigned(agent_id="a", attempt=2), retry(2, "a", at=s(90))], [(s(90), "t1")]),  # failed again, waits on
], ids=["cancelled", "placed", "retried-again"])
def test_release_due_drops_a_retry_that_is_no_longer_waiting(
        since: list[EventData], waiting: list[tuple[datetime, str]]) -> None:
    w = World()
    w.agent("a")
    w.run("t1", "a")
    w.add("t1", retry(1, "a", at=s(30)), at=s(2))
    w.add("t1", *since, at=s(3))
    assert w.fleet.release_due(s(60)) == (waiting[0][0] if waiting else None)
    assert w.fleet.peek_ready(NEED) is None
    assert [(at, task_id) for at, _, task_id in w.fleet.delayed] == waiting


def test_failure_streaks_count_the_agents_own_faults_and_reset_on_completion() -> None:
    w = World()
    w.agent("a")
    w.agent("b")
    w.run("t1", "a")
    w.add("t1", retry(1, "a"))
    assert w.streak("a") == 1
    w.run("t1", "a", 2)
    w.add("t1", retry(2, "a", reason="timed_out"))
    w.run("t2", "a")
    w.add("t2", TaskFailed(agent_id="a", attempt=1, error="x", reason="executor_error", dead_lettered=True))
    w.run("t3", "a")
    w.add("t3", TaskTimedOut(attempt=1, agent_id="a", error="slow"))
    assert w.streak("a") == 4
    # A lost agent's runs and a dependency failure are not the agent's faults; b's failures are b's.
    w.run("t4", "a")
    w.add("t4", retry(1, "a", reason="agent_lost"))
    w.run("t4", "a", 2)
    w.add("t4", TaskFailed(agent_id="a", attempt=2, error="x", reason="agent_lost", dead_lettered=True))
    w.add("t5", TaskCreated(title="t"), TaskFailed(attempt=0, error="dep", reason="dependency_failed"))
    w.run("t6", "b")
    w.add("t6", retry(1, "b"))
    assert (w.streak("a"), w.streak("b")) == (4, 1)
    w.run("t7", "a")
    w.add("t7", TaskCompleted(agent_id="a", attempt=1, result=TaskResult()))
    assert (w.streak("a"), w.streak("b")) == (0, 1)


def test_re_registering_resets_the_failure_streak() -> None:
    w = World()
    w.agent("a")
    w.run("t1", "a")
    w.add("t1", retry(1, "a"))
    assert w.streak("a") == 1
    w.agent("a", session="s2")
    assert w.streak("a") == 0


def test_an_open_circuit_keeps_the_agent_from_placement_until_it_ends() -> None:
    w = World()
    w.agent("a")
    candidate = w.fleet.agents["a"].candidate
    assert candidate.online
    w.add("a", AgentCircuitOpened(failures=3, until=s(60)))
    assert not candidate.online  # folding (no clock): open counts as open
    assert w.fleet.refresh_circuits(s(30)) == s(60)
    assert not candidate.online
    assert w.fleet.refresh_circuits(s(61)) is None
    assert candidate.online  # half-open: it may take a run again
    w.add("a", AgentCircuitClosed())
    assert candidate.online and w.fleet.refresh_circuits(s(62)) is None


def test_a_lost_agent_stays_off_after_its_circuit_ends() -> None:
    w = World()
    w.agent("a")
    w.add("a", AgentCircuitOpened(failures=3, until=s(60)), AgentLost(session_id="s1", last_seen_at=T0, silent_s=20))
    w.fleet.refresh_circuits(s(61))
    assert not w.fleet.agents["a"].candidate.online


# -- circuit breakers ----------------------------------------------------------------------------


def breaker_plans(w: World, breakers: Breakers, at: datetime, agent_id: str = "a") -> list[tuple[str, list[Any]]]:
    breakers.note(agent_id)
    plans: list[Plan] = []
    breakers.plan(plans, at)
    w.commit(plans, at)
    return [(p.aggregate_id, list(p.events)) for p in plans]


def fail_run(w: World, task_id: str, agent_id: str = "a") -> None:
    w.run(task_id, agent_id)
    w.add(task_id, TaskFailed(agent_id=agent_id, attempt=1, error="x", dead_lettered=True))


def test_a_breaker_opens_at_the_threshold_and_not_again_for_the_same_streak() -> None:
    w = World()
    w.agent("a")
    breakers = Breakers(w.fleet, w.decisions, threshold=2, cooldown_s=60.0)
    fail_run(w, "t1")
    assert breaker_plans(w, breakers, s(10)) == []
    fail_run(w, "t2")
    assert breaker_plans(w, breakers, s(10)) == [("a", [AgentCircuitOpened(failures=2, until=s(70))])]
    # After the cooldown (or on a takeover's sweep) the same streak opens nothing again.
    assert breaker_plans(w, breakers, s(80)) == []
    breakers.sweep()
    plans: list[Plan] = []
    breakers.plan(plans, s(80))
    assert plans == []
    # The half-open run failed too: the streak grew, the circuit opens again.
    fail_run(w, "t3")
    assert breaker_plans(w, breakers, s(90)) == [("a", [AgentCircuitOpened(failures=3, until=s(150))])]
    assert w.fleet.agents["a"].agent.circuit_open_until == s(150)
    # A completed run closes it.
    w.run("t4", "a")
    w.add("t4", TaskCompleted(agent_id="a", attempt=1, result=TaskResult()))
    assert breaker_plans(w, breakers, s(200)) == [("a", [AgentCircuitClosed()])]
    assert breaker_plans(w, breakers, s(201)) == []  # closed already


def test_a_breaker_waits_for_an_open_decision_on_the_agent() -> None:
    w = World()
    w.agent("a")
    breakers = Breakers(w.fleet, w.decisions, threshold=1, cooldown_s=60.0)
    fail_run(w, "t1")
    pending = new_envelope(AgentCircuitClosed(), event_id="x", aggregate_id="a", occurred_at=T0, actor="test")
    w.decisions.begin("a", [pending])
    assert breaker_plans(w, breakers, s(10)) == []
    w.decisions.abandon("a")
    plans: list[Plan] = []
    breakers.plan(plans, s(11))  # no new note: the deferred check is still due
    assert [list(p.events) for p in plans] == [[AgentCircuitOpened(failures=1, until=s(71))]]


def test_threshold_zero_turns_the_breakers_off() -> None:
    w = World()
    w.agent("a")
    breakers = Breakers(w.fleet, w.decisions, threshold=0, cooldown_s=60.0)
    for n in range(5):
        fail_run(w, f"t{n}")
    assert w.streak("a") == 5
    assert breaker_plans(w, breakers, s(10)) == []


def test_a_streak_below_the_threshold_with_no_circuit_does_nothing() -> None:
    w = World()
    w.agent("a")
    breakers = Breakers(w.fleet, w.decisions, threshold=3, cooldown_s=60.0)
    w.run("t1", "a")
    w.add("t1", TaskCompleted(agent_id="a", attempt=1, result=TaskResult()))
    fail_run(w, "t2")
    fail_run(w, "t3")
    assert breaker_plans(w, breakers, s(10)) == []
    fail_run(w, "t4")
    assert breaker_plans(w, breakers, s(10)) == [("a", [AgentCircuitOpened(failures=3, until=s(70))])]


# -- liveness ------------------------------------------------------------------------------------


def liveness_plans(w: World, liveness: Liveness, at: datetime) -> list[tuple[str, list[Any]]]:
    plans: list[Plan] = []
    liveness.plan(plans, at)
    w.commit(plans, at)
    return [(p.aggregate_id, list(p.events)) for p in plans]


def test_nothing_is_declared_before_the_coordinator_starts_watching() -> None:
    w = World()
    w.agent("a")
    liveness = Liveness(w.fleet, w.decisions, window_s=15.0)
    assert liveness_plans(w, liveness, s(1000)) == []
    assert not liveness.overdue(s(1000))


def test_an_agent_is_lost_only_after_a_window_of_silence_from_its_current_session() -> None:
    w = World()
    w.agent("a", at=s(-100))
    liveness = Liveness(w.fleet, w.decisions, window_s=15.0)
    liveness.start(T0)
    assert not liveness.beat("a", "s1", s(10))
    assert liveness_plans(w, liveness, s(25)) == []
    assert not liveness.overdue(s(25))
    assert liveness.overdue(s(25.5))
    assert liveness_plans(w, liveness, s(25.5)) == [
        ("a", [AgentLost(session_id="s1", last_seen_at=s(10), silent_s=15.5)])]
    assert w.fleet.agents["a"].agent.status is AgentStatus.LOST
    assert liveness_plans(w, liveness, s(100)) == []  # lost once


def test_with_no_beat_seen_the_window_counts_from_the_coordinators_start() -> None:
    w = World()
    w.agent("a", at=s(-100))
    liveness = Liveness(w.fleet, w.decisions, window_s=15.0)
    liveness.start(T0)
    assert liveness_plans(w, liveness, s(15)) == []
    assert liveness_plans(w, liveness, s(16)) == [("a", [AgentLost(session_id="s1", last_seen_at=T0, silent_s=16.0)])]


def test_an_agent_registered_after_the_start_gets_a_window_from_its_registration() -> None:
    w = World()
    w.agent("a", at=s(50))
    liveness = Liveness(w.fleet, w.decisions, window_s=15.0)
    liveness.start(T0)
    assert liveness_plans(w, liveness, s(60)) == []
    assert liveness_plans(w, liveness, s(66)) == [("a", [AgentLost(session_id="s1", last_seen_at=s(50), silent_s=16.0)])]


def test_beats_from_an_older_session_do_not_keep_the_new_one_alive() -> None:
    w = World()
    w.agent("a", session="s2", at=s(-100))
    liveness = Liveness(w.fleet, w.decisions, window_s=15.0)
    liveness.start(T0)
    liveness.beat("a", "s1", s(20))
    assert liveness_plans(w, liveness, s(16)) == [("a", [AgentLost(session_id="s2", last_seen_at=T0, silent_s=16.0)])]


def test_offline_agents_are_never_declared_lost() -> None:
    w = World()
    w.agent("a", at=s(-100))
    w.add("a", AgentDeregistered(session_id="s1"))
    liveness = Liveness(w.fleet, w.decisions, window_s=15.0)
    liveness.start(T0)
    assert liveness_plans(w, liveness, s(1000)) == []
    assert not liveness.overdue(s(1000))


def test_a_lost_agent_whose_session_beats_after_it_was_lost_is_recovered() -> None:
    w = World()
    w.agent("a", at=s(-100))
    w.add("a", AgentLost(session_id="s1", last_seen_at=T0, silent_s=16.0), at=s(30))
    liveness = Liveness(w.fleet, w.decisions, window_s=15.0)
    liveness.start(s(30))
    # A beat written before the loss was decided (a stale read) proves nothing.
    assert not liveness.beat("a", "s1", s(29))
    assert not liveness.beat("a", "s1", s(30))
    assert liveness_plans(w, liveness, s(31)) == []
    # Another session's beat does not bring this one back.
    assert not liveness.beat("a", "s2", s(40))
    assert not liveness.overdue(s(41))
    assert liveness_plans(w, liveness, s(41)) == []
    assert liveness.beat("a", "s1", s(42))
    assert liveness.overdue(s(43))
    assert liveness_plans(w, liveness, s(43)) == [("a", [AgentRecovered(session_id="s1")])]
    assert w.fleet.agents["a"].agent.status is AgentStatus.ONLINE
    # Back online, it gets a fresh window from its latest beat.
    assert liveness_plans(w, liveness, s(57)) == []
    assert [type(e) for _, events in liveness_plans(w, liveness, s(57.5)) for e in events] == [AgentLost]


def test_liveness_waits_for_an_open_decision_on_the_agent() -> None:
    w = World()
    w.agent("a", at=s(-100))
    liveness = Liveness(w.fleet, w.decisions, window_s=15.0)
    liveness.start(T0)
    pending = new_envelope(AgentCircuitClosed(), event_id="x", aggregate_id="a", occurred_at=T0, actor="test")
    w.decisions.begin("a", [pending])
    assert liveness_plans(w, liveness, s(100)) == []
    w.decisions.abandon("a")
    assert [type(e) for _, events in liveness_plans(w, liveness, s(100)) for e in events] == [AgentLost]


def test_the_scheduler_is_told_to_plan_only_after_a_recovering_beat() -> None:
    # `plan` walks every agent; the scheduler calls it only when `take_due` says a finding is waiting.
    w = World()
    w.agent("a", at=s(-100))
    w.add("a", AgentLost(session_id="s1", last_seen_at=T0, silent_s=16.0), at=s(30))
    liveness = Liveness(w.fleet, w.decisions, window_s=15.0)
    liveness.start(s(30))
    assert not liveness.take_due()
    assert not liveness.beat("a", "s2", s(40))  # another session: nothing to decide
    assert not liveness.take_due()
    assert liveness.beat("a", "s1", s(42))
    assert liveness.take_due()
    assert not liveness.take_due()  # once per finding


async def test_the_watch_loop_marks_an_overdue_agent_due_and_wakes_the_scheduler() -> None:
    w = World()
    w.agent("a", at=s(-100))
    liveness = Liveness(w.fleet, w.decisions, window_s=0.04)
    liveness.start(T0)
    woken = asyncio.Event()
    watch = asyncio.create_task(liveness.run(woken.set, lambda: s(1)))
    try:
        await asyncio.wait_for(woken.wait(), 10)
    finally:
        watch.cancel()
    assert liveness.take_due()
    assert [type(e) for _, events in liveness_plans(w, liveness, s(1)) for e in events] == [AgentLost]
