"""What the coordinator measures for the alert rules: from heartbeats, the fold's task events, checkpoints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec

from core.coordinator.alert_measures import Observations
from core.coordinator.fleet import Fleet
from core.domain.alert_rules import AlertRule
from core.events import Recorded, new_envelope
from core.events.agent import AgentDeregistered, AgentRegistered
from core.events.envelope import EventData
from core.events.task import TaskAssigned, TaskCompleted, TaskFailed, TaskResult

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def rule(measure: str, **fields: object) -> AlertRule:
    return msgspec.convert({"name": "r", "measure": measure, "threshold": 1.0, "severity": "info", "cooldown_s": 0.0,
                            **fields}, AlertRule)


def fleet_with(*agents: str, registered_at: datetime = T0) -> Fleet:
    fleet = Fleet()
    for seq, agent_id in enumerate(agents, 1):
        data = AgentRegistered(name=agent_id, session_id="s", capabilities={"x": 1.0})
        fleet.apply(Recorded(seq=seq, envelope=new_envelope(data, event_id=f"e{seq}", aggregate_id=agent_id,
                                                            occurred_at=registered_at, actor="c")))
    return fleet


def leave(fleet: Fleet, agent_id: str) -> None:
    data = AgentDeregistered(session_id="s")
    fleet.apply(Recorded(seq=99, envelope=new_envelope(data, event_id="e99", aggregate_id=agent_id, occurred_at=T0,
                                                       actor="c")))


def run(obs: Observations, task_id: str, agent: str, start: float, end: float, ok: bool = True) -> None:
    obs.task_event(task_id, TaskAssigned(agent_id=agent, attempt=1), at(start))
    final: EventData = (TaskCompleted(agent_id=agent, attempt=1, result=TaskResult()) if ok
                        else TaskFailed(agent_id=agent, attempt=1, error="boom"))
    obs.task_event(task_id, final, at(end))


def test_cpu_is_the_latest_heartbeat_of_online_agents() -> None:
    fleet, obs = fleet_with("a", "b", "c"), Observations()
    obs.heartbeat("a", 95.0, at(1))
    obs.heartbeat("a", 20.0, at(2))
    obs.heartbeat("b", 90.0, at(2))
    leave(fleet, "b")
    # c has sent no heartbeat: no CPU reading (not a zero); b left the fleet: not measured.
    assert obs.measure(rule("cpu_percent"), fleet.agents.values(), None, at(3)) == {"a": 20.0}


def test_heartbeat_age_counts_from_the_last_beat_or_the_registration() -> None:
    fleet, obs = fleet_with("a", "b", registered_at=at(0)), Observations()
    obs.heartbeat("a", 1.0, at(10))
    obs.heartbeat("a", 1.0, at(8))  # an older beat (replayed from the bucket) never moves it back
    assert obs.measure(rule("heartbeat_age_s"), fleet.agents.values(), None, at(30)) == {"a": 20.0, "b": 30.0}


def test_response_time_is_assignment_to_result_averaged_over_the_window() -> None:
    fleet, obs = fleet_with("a", "b"), Observations()
    run(obs, "t1", "a", 0, 100)       # ended before the window
    run(obs, "t2", "a", 900, 940)
    run(obs, "t3", "a", 950, 1030, ok=False)  # a failure is a response too
    run(obs, "t4", "b", 990, 995)
    windowed = rule("avg_response_time_s", window_s=600.0)
    assert obs.measure(windowed, fleet.agents.values(), None, at(1100)) == {"a": 60.0, "b": 5.0}
    # Too few samples: not measured (so an open alert resolves rather than lingering on stale data).
    assert obs.measure(msgspec.structs.replace(windowed, min_samples=2), fleet.agents.values(), None,
                       at(1100)) == {"a": 60.0}


def test_failure_rate_over_the_window_needs_min_samples() -> None:
    obs = Observations(keep_s=3600)
    for i in range(10):
        run(obs, f"old{i}", "a", 0, 1, ok=False)  # long before the window
    for i in range(8):
        run(obs, f"t{i}", "a", 1000, 1000 + i, ok=i % 4 != 0)  # 2 of 8 fail
    rate = rule("task_failure_rate", window_s=300.0, min_samples=8)
    assert obs.measure(rate, [], None, at(1200)) == {"cluster": 0.25}
    assert obs.measure(msgspec.structs.replace(rate, min_samples=9), [], None, at(1200)) == {}


def test_projection_lag_is_the_log_s_end_minus_each_mirrored_checkpoint() -> None:
    obs = Observations()
    obs.checkpoints.update({"read_models": 900})
    lag = rule("projection_lag_events")
    assert obs.measure(lag, [], 1000, at(0)) == {"read_models": 100.0}
    assert obs.measure(lag, [], None, at(0)) is None  # the log's end unknown this round: not measured
