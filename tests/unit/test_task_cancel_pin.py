"""Given events, when a command, then events: cancelling and pinning a task (pure, table-driven)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.domain import task as t
from tests.helpers import fail
from core.domain.task import TaskStatus
from core.errors import DomainError, StaleReport
from core.events.task import (
    TaskAssigned,
    TaskCancelled,
    TaskCancelRequested,
    TaskCompleted,
    TaskFailed,
    TaskPinned,
    TaskQueued,
    TaskResult,
    TaskStarted,
)
from tests.unit.test_task_aggregate import CREATED, T0, env, given_events

QUEUED = TaskQueued(attempt=1)
ASSIGNED = TaskAssigned(agent_id="a", attempt=1)
STARTED = TaskStarted(agent_id="a", attempt=1)
# The histories of each status a task can be in.
HISTORIES: dict[str, list[Any]] = {
    "pending": [CREATED],
    "queued": [CREATED, QUEUED],
    "assigned": [CREATED, QUEUED, ASSIGNED],
    "running": [CREATED, QUEUED, ASSIGNED, STARTED],
    "completed": [CREATED, QUEUED, ASSIGNED, STARTED, TaskCompleted(agent_id="a", attempt=1, result=TaskResult())],
    "failed": [CREATED, QUEUED, ASSIGNED, TaskFailed(agent_id="a", attempt=1, error="x")],
    "cancelled": [CREATED, QUEUED, TaskCancelRequested(), TaskCancelled(attempt=1, reason="r")],
}


def test_the_fold_records_a_cancel_request_a_cancel_and_a_pin() -> None:
    s = given_events(CREATED, QUEUED, TaskPinned(agent_id="b"), TaskCancelRequested())
    assert (s.status, s.pinned_agent_id, s.cancel_requested_at) == (TaskStatus.QUEUED, "b", T0 + timedelta(seconds=3))
    s = given_events(CREATED, QUEUED, TaskCancelRequested(), TaskCancelled(attempt=1, reason="gone"))
    assert (s.status, s.error, s.finished_at) == (TaskStatus.CANCELLED, "gone", T0 + timedelta(seconds=3))
    assert t.is_terminal(s)


@pytest.mark.parametrize(("status", "expected"), [
    ("pending", [TaskCancelRequested()]),
    ("queued", [TaskCancelRequested()]),
    ("assigned", [TaskCancelRequested()]),
    ("running", [TaskCancelRequested()]),
    ("completed", DomainError),
    ("failed", DomainError),
    ("cancelled", DomainError),
])
def test_request_cancel(status: str, expected: Any) -> None:
    s = given_events(*HISTORIES[status])
    assert s.status == status
    if expected is DomainError:
        with pytest.raises(DomainError, match=f"already ended \\({status}\\)"):
            t.request_cancel(s)
    else:
        assert t.request_cancel(s) == expected


def test_a_second_cancel_request_records_nothing() -> None:
    assert t.request_cancel(given_events(CREATED, QUEUED, ASSIGNED, TaskCancelRequested())) == []


@pytest.mark.parametrize(("status", "agent_online", "expected"), [
    ("pending", False, [TaskCancelled(attempt=0, reason="cancelled on request before it ran")]),
    ("queued", True, [TaskCancelled(attempt=1, reason="cancelled on request before it ran")]),
    ("assigned", True, DomainError),  # its agent must stop it: the coordinator sends it an order instead
    ("running", True, DomainError),
    ("assigned", False, [TaskCancelled(attempt=1, agent_id="a",
                                       reason="cancelled on request; agent a had gone offline")]),
    ("running", False, [TaskCancelled(attempt=1, agent_id="a",
                                      reason="cancelled on request; agent a had gone offline")]),
])
def test_cancel(status: str, agent_online: bool, expected: Any) -> None:
    s = given_events(*HISTORIES[status], TaskCancelRequested())
    if expected is DomainError:
        with pytest.raises(DomainError):
            t.cancel(s, agent_online)
    else:
        assert t.cancel(s, agent_online) == expected


def test_no_cancel_without_a_request() -> None:
    with pytest.raises(DomainError):
        t.cancel(given_events(CREATED, QUEUED))


def test_a_stopped_run_ends_cancelled_not_failed() -> None:
    s = given_events(CREATED, QUEUED, ASSIGNED, STARTED, TaskCancelRequested())
    assert fail(s, "a", 1, "stopped on agent a", True, -15, "partial") == [
        TaskCancelled(agent_id="a", attempt=1, reason="cancelled on request (stopped on agent a)", output="partial",
                      exit_code=-15)]
    # Not started yet when it was stopped, but it says when it began: the history shows the start too.
    s = given_events(CREATED, QUEUED, ASSIGNED, TaskCancelRequested())
    assert [type(e) for e in fail(s, "a", 1, "x", True, None, "", started_at=T0)] == [
        TaskStarted, TaskCancelled]
    # A run that finished before the cancel reached it completed: that is what happened.
    assert [type(e) for e in t.record_completion(s, "a", 1, TaskResult())] == [TaskStarted, TaskCompleted]


def test_reports_after_the_cancel_are_stale() -> None:
    s = given_events(CREATED, QUEUED, ASSIGNED, TaskCancelRequested(), TaskCancelled(attempt=1, agent_id="a"))
    with pytest.raises(StaleReport):
        t.record_completion(s, "a", 1, TaskResult())


@pytest.mark.parametrize(("status", "expected"), [
    ("pending", [TaskPinned(agent_id="b")]),
    ("queued", [TaskPinned(agent_id="b")]),
    ("assigned", DomainError),
    ("running", DomainError),
    ("completed", DomainError),
    ("cancelled", DomainError),
])
def test_pin(status: str, expected: Any) -> None:
    s = given_events(*HISTORIES[status])
    if expected is DomainError:
        with pytest.raises(DomainError, match="only a pending or queued task can be assigned"):
            t.pin(s, "b")
    else:
        assert t.pin(s, "b") == expected


def test_pin_again_to_the_same_agent_records_nothing_and_a_cancelling_task_is_not_pinned() -> None:
    assert t.pin(given_events(CREATED, TaskPinned(agent_id="b")), "b") == []
    assert t.pin(given_events(CREATED, TaskPinned(agent_id="b")), "c") == [TaskPinned(agent_id="c")]
    with pytest.raises(DomainError, match="being cancelled"):
        t.pin(given_events(CREATED, TaskCancelRequested()), "b")


def test_hand_back_queues_a_new_attempt_of_an_assignment_never_started() -> None:
    s = given_events(CREATED, QUEUED, ASSIGNED)
    assert t.hand_back(s) == [TaskQueued(attempt=2)]
    s = given_events(CREATED, QUEUED, ASSIGNED, TaskQueued(attempt=2))
    assert (s.status, s.agent_id, s.attempt) == (TaskStatus.QUEUED, None, 2)
    with pytest.raises(DomainError):
        t.hand_back(given_events(CREATED, QUEUED, ASSIGNED, STARTED))


# Property: cancel requests, pins and the agent's reports, in any order, never reach an illegal state.
step = st.sampled_from(["cancel", "pin", "start", "complete", "fail", "stop"])


@given(st.sampled_from(list(HISTORIES)), st.lists(step, max_size=10))
def test_any_mix_of_cancels_pins_and_reports_keeps_the_fold_legal(start: str, steps: list[str]) -> None:
    history = [env(e, n) for n, e in enumerate(HISTORIES[start])]
    state = t.fold(history)
    assert state is not None
    ends = 0
    for n, kind in enumerate(steps, start=len(history)):
        was_terminal = t.is_terminal(state)
        try:
            if kind == "cancel":
                events = t.request_cancel(state)
            elif kind == "pin":
                events = t.pin(state, "b")
            elif kind == "start":
                events = t.record_start(state, "a", 1)
            elif kind == "complete":
                events = t.record_completion(state, "a", 1, TaskResult())
            elif kind == "fail":
                events = fail(state, "a", 1, "x", False, None, "")
            else:  # the coordinator ends what no running agent has to stop
                events = t.cancel(state)
        except (DomainError, StaleReport):
            events = []
        for e in events:
            state = t.evolve(state, env(e, n))
            ends += isinstance(e, TaskCompleted | TaskFailed | TaskCancelled)
        assert not (was_terminal and events), "an ended task never changes again"
        if state.status is TaskStatus.CANCELLED:
            assert state.cancel_requested_at is not None or start == "cancelled"
        if state.pinned_agent_id is not None:
            assert start in ("pending", "queued")
    assert ends <= 1
