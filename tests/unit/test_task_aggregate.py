"""Given events, when a command, then events: the task fold and its decisions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.domain import task as t
from tests.helpers import fail
from core.domain.task import TaskStatus
from core.errors import DomainError, StaleReport
from core.events import new_envelope
from core.events.envelope import Envelope
from core.events.task import (
    TaskAssigned,
    TaskCompleted,
    TaskCreated,
    TaskFailed,
    TaskQueued,
    TaskReportRejected,
    TaskResult,
    TaskStarted,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def env(data: Any, n: int = 0) -> Envelope[Any]:
    return new_envelope(data, event_id=f"e{n}", aggregate_id="task-1", occurred_at=T0 + timedelta(seconds=n),
                        actor="test")


def given_events(*events: Any) -> t.Task:
    state = t.fold([env(e, i) for i, e in enumerate(events)])
    assert state is not None
    return state


CREATED = TaskCreated(title="x", capabilities=["echo"])


def test_created_task_is_pending() -> None:
    s = given_events(CREATED)
    assert (s.status, s.attempt, s.created_at) == (TaskStatus.PENDING, 0, T0)


def test_history_must_start_with_created() -> None:
    with pytest.raises(DomainError):
        t.fold([env(TaskQueued(attempt=1))])


def test_queue_then_assign_then_start_then_complete() -> None:
    s = given_events(CREATED)
    assert t.queue(s) == [TaskQueued(attempt=1)]
    s = given_events(CREATED, TaskQueued(attempt=1))
    assert t.assign(s, "a") == [TaskAssigned(agent_id="a", attempt=1)]
    s = given_events(CREATED, TaskQueued(attempt=1), TaskAssigned(agent_id="a", attempt=1))
    assert t.record_start(s, "a", 1) == [TaskStarted(agent_id="a", attempt=1)]
    s = given_events(CREATED, TaskQueued(attempt=1), TaskAssigned(agent_id="a", attempt=1),
                     TaskStarted(agent_id="a", attempt=1))
    done = TaskResult(output="ok", exit_code=0)
    assert t.record_completion(s, "a", 1, done) == [TaskCompleted(agent_id="a", attempt=1, result=done)]
    s = given_events(CREATED, TaskQueued(attempt=1), TaskAssigned(agent_id="a", attempt=1),
                     TaskStarted(agent_id="a", attempt=1), TaskCompleted(agent_id="a", attempt=1, result=done))
    assert (s.status, s.result, s.agent_id, s.finished_at) == (TaskStatus.COMPLETED, done, "a", T0 + timedelta(seconds=4))


def test_completion_without_start_records_the_start_too() -> None:
    s = given_events(CREATED, TaskQueued(attempt=1), TaskAssigned(agent_id="a", attempt=1))
    events = t.record_completion(s, "a", 1, TaskResult())
    assert [type(e) for e in events] == [TaskStarted, TaskCompleted]


def test_a_final_report_that_says_when_the_task_started_records_that_start() -> None:
    s = given_events(CREATED, TaskQueued(attempt=1), TaskAssigned(agent_id="a", attempt=1))
    at = T0 + timedelta(seconds=9)
    assert t.record_completion(s, "a", 1, TaskResult(), started_at=at)[0] == TaskStarted(
        agent_id="a", attempt=1, reported_at=at)
    failed = fail(s, "a", 1, "boom", False, 1, "", started_at=at)
    assert [type(e) for e in failed] == [TaskStarted, TaskFailed] and failed[0].reported_at == at  # type: ignore[union-attr]
    # Without a start time a failure may have happened before anything ran: no start is invented.
    assert [type(e) for e in fail(s, "a", 1, "boom", False, 1, "")] == [TaskFailed]


def test_chained_decisions_see_each_others_events_without_touching_the_state() -> None:
    s = given_events(CREATED)
    queued = t.after(s, t.queue(s), T0)
    assert queued.status is TaskStatus.QUEUED and s.status is TaskStatus.PENDING
    assert t.assign(queued, "a") == [TaskAssigned(agent_id="a", attempt=1)]


def test_redelivered_start_is_not_recorded_twice() -> None:
    s = given_events(CREATED, TaskQueued(attempt=1), TaskAssigned(agent_id="a", attempt=1),
                     TaskStarted(agent_id="a", attempt=1))
    assert t.record_start(s, "a", 1) == []


@pytest.mark.parametrize(
    ("agent", "attempt"),
    [("b", 1), ("a", 2), ("a", 0)],
)
def test_reports_from_another_assignment_are_stale(agent: str, attempt: int) -> None:
    s = given_events(CREATED, TaskQueued(attempt=1), TaskAssigned(agent_id="a", attempt=1))
    with pytest.raises(StaleReport):
        t.record_completion(s, agent, attempt, TaskResult())
    with pytest.raises(StaleReport):
        fail(s, agent, attempt, "x", False, None, "")


def test_report_after_completion_is_stale() -> None:
    s = given_events(CREATED, TaskQueued(attempt=1), TaskAssigned(agent_id="a", attempt=1),
                     TaskCompleted(agent_id="a", attempt=1, result=TaskResult()))
    with pytest.raises(StaleReport):
        t.record_completion(s, "a", 1, TaskResult())


def test_failure_is_recorded_with_its_details() -> None:
    s = given_events(CREATED, TaskQueued(attempt=1), TaskAssigned(agent_id="a", attempt=1))
    [failed] = fail(s, "a", 1, "exit 3", True, 3, "partial")
    # The task allows one attempt (max_attempts 1): the failure is final, a dead letter.
    assert failed == TaskFailed(agent_id="a", attempt=1, error="exit 3", retryable=True, exit_code=3, output="partial",
                                dead_lettered=True)
    s = given_events(CREATED, TaskQueued(attempt=1), TaskAssigned(agent_id="a", attempt=1), failed)
    assert (s.status, s.error) == (TaskStatus.FAILED, "exit 3")


def test_rejected_report_changes_nothing() -> None:
    before = given_events(CREATED, TaskQueued(attempt=1))
    after = given_events(CREATED, TaskQueued(attempt=1), TaskReportRejected(agent_id="x", attempt=9, report="completed",
                                                                             reason="stale"))
    assert (before.status, before.attempt) == (after.status, after.attempt)


@pytest.mark.parametrize("status_events", [
    [TaskQueued(attempt=1)],
    [TaskQueued(attempt=1), TaskAssigned(agent_id="a", attempt=1)],
])
def test_cannot_queue_twice(status_events: list[Any]) -> None:
    with pytest.raises(DomainError):
        t.queue(given_events(CREATED, *status_events))


def test_cannot_assign_unless_queued() -> None:
    with pytest.raises(DomainError):
        t.assign(given_events(CREATED), "a")


# Property: whatever reports arrive in whatever order, the decisions keep the fold legal.
report = st.tuples(st.sampled_from(["start", "complete", "fail"]), st.sampled_from(["a", "b"]), st.integers(0, 2))


@given(st.lists(report, max_size=12))
def test_any_report_sequence_keeps_the_fold_legal(reports: list[tuple[str, str, int]]) -> None:
    history = [env(CREATED, 0), env(TaskQueued(attempt=1), 1), env(TaskAssigned(agent_id="a", attempt=1), 2)]
    state = t.fold(history)
    assert state is not None
    completed = 0
    for n, (kind, agent, attempt) in enumerate(reports, start=3):
        try:
            if kind == "start":
                events = t.record_start(state, agent, attempt)
            elif kind == "complete":
                events = t.record_completion(state, agent, attempt, TaskResult())
            else:
                events = fail(state, agent, attempt, "x", False, None, "")
        except StaleReport:
            events = t.reject_report(agent, attempt, kind, "stale")
        for e in events:
            state = t.evolve(state, env(e, n))
            completed += isinstance(e, TaskCompleted)
        # Only the current assignment ("a", attempt 1) can ever move the task.
        assert state.agent_id == "a" and state.attempt == 1
        assert state.status in (TaskStatus.ASSIGNED, TaskStatus.RUNNING, TaskStatus.COMPLETED, TaskStatus.FAILED)
    assert completed <= 1
