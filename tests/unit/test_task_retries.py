"""Given events, when a decision, then events: retries with backoff, dead letters, timeouts and lost agents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.coordinator.reports import TaskReport, _is_echo, task_events
from core.domain import task as t
from core.domain.retry import AGENT_LOST, TIMED_OUT, Failure, RetryPolicy, backoff, retry_at
from core.domain.task import TaskStatus
from core.errors import DomainError
from core.events import new_envelope
from core.events.task import (
    TaskAssigned,
    TaskCancelled,
    TaskCancelRequested,
    TaskCompleted,
    TaskCreated,
    TaskFailed,
    TaskQueued,
    TaskReportRejected,
    TaskResult,
    TaskRetryRequested,
    TaskRetryScheduled,
    TaskStarted,
    TaskTimedOut,
)
from core.messages import Completed, Failed, Started
from tests.helpers import fail

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NOW = T0 + timedelta(hours=1)
POLICY = RetryPolicy(max_attempts=3, backoff_s=2.0, backoff_max_s=60.0, max_agent_losses=3)
# Three runs allowed; the first retry waits the policy's 2 s (doubling, equal jitter).
SPEC = TaskCreated(title="x", capabilities=["echo"], max_attempts=3)


def given_events(*events: Any, spec: TaskCreated = SPEC) -> t.Task:
    history = [spec, *events]
    state = t.fold([new_envelope(e, event_id=f"e{i}", aggregate_id="task-1", occurred_at=T0 + timedelta(seconds=i),
                                 actor="test") for i, e in enumerate(history)])
    assert state is not None
    return state


def running(agent: str = "a", attempt: int = 1) -> list[Any]:
    """The events that put attempt `attempt` on `agent`, running (earlier attempts are not part of it)."""
    return [TaskQueued(attempt=attempt), TaskAssigned(agent_id=agent, attempt=attempt),
            TaskStarted(agent_id=agent, attempt=attempt)]


def failure(agent: str = "a", reason: str = "executor_error", retryable: bool = True, error: str = "boom") -> Failure:
    return Failure(reason=reason, error=error, retryable=retryable, agent_id=agent, exit_code=1, output="out")


def retried(agent: str, attempt: int, reason: str = "executor_error", at: datetime = NOW) -> TaskRetryScheduled:
    return TaskRetryScheduled(attempt=attempt, next_attempt=attempt + 1, agent_id=agent, reason=reason, error="boom",
                              exit_code=1, output="out", not_before=at)


# -- backoff -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("failures", "low", "high"), [
    (1, 1.0, 2.0),      # d = 2
    (2, 2.0, 4.0),      # d = 4
    (3, 4.0, 8.0),      # d = 8
    (5, 16.0, 32.0),    # d = 32
    (6, 30.0, 60.0),    # d = 64, capped at 60
    (30, 30.0, 60.0),
])
def test_backoff_doubles_per_failure_with_equal_jitter_up_to_the_cap(failures: int, low: float, high: float) -> None:
    assert backoff(POLICY, None, failures, 0.0) == timedelta(seconds=low)
    near_one = backoff(POLICY, None, failures, 0.999999).total_seconds()
    assert high - 1e-3 < near_one < high


def test_a_tasks_own_base_overrides_the_policys() -> None:
    assert backoff(POLICY, 0.5, 1, 0.0) == timedelta(seconds=0.25)
    assert backoff(POLICY, 0.5, 3, 0.0) == timedelta(seconds=1.0)
    assert backoff(POLICY, 10.0, 3, 0.0) == timedelta(seconds=20.0)
    # The cap is the policy's whatever the base.
    assert backoff(POLICY, 100.0, 1, 0.0) == timedelta(seconds=30.0)
    # A base of 0 retries at once (None, not 0, means "the policy's").
    assert backoff(POLICY, 0.0, 4, 0.5) == timedelta(0)


def test_retry_at_is_now_plus_the_backoff() -> None:
    assert retry_at(POLICY, None, 2, NOW, 0.5) == NOW + timedelta(seconds=3.0)


@given(
    base=st.none() | st.floats(min_value=0.0, max_value=1000.0),
    cap=st.floats(min_value=0.0, max_value=3600.0),
    failures=st.integers(min_value=1, max_value=100),
    jitter=st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
)
def test_backoff_stays_between_half_and_all_of_the_capped_delay(
        base: float | None, cap: float, failures: int, jitter: float) -> None:
    policy = RetryPolicy(backoff_s=1.5, backoff_max_s=cap)
    d = min(cap, (1.5 if base is None else base) * 2 ** (failures - 1))
    wait = backoff(policy, base, failures, jitter).total_seconds()
    # timedelta keeps microseconds: allow its rounding.
    assert d / 2 - 1e-6 <= wait <= d + 1e-6


# -- record_failure ------------------------------------------------------------------------------


def test_a_retryable_failure_with_attempts_left_schedules_the_next_attempt_after_the_backoff() -> None:
    s = given_events(*running("a", 1))
    events = t.record_failure(s, failure("a"), 1, POLICY, NOW, 0.0)
    assert events == [TaskRetryScheduled(attempt=1, next_attempt=2, agent_id="a", reason="executor_error", error="boom",
                                         exit_code=1, output="out", not_before=NOW + timedelta(seconds=1.0))]
    s = given_events(*running("a", 1), *events)
    assert (s.status, s.attempt, s.agent_id, s.failures, s.losses) == (TaskStatus.QUEUED, 2, None, 1, 0)
    assert (s.not_before, s.failure_reason, s.error) == (NOW + timedelta(seconds=1.0), "executor_error", "boom")
    assert (s.failed_agent_id, s.failed_attempt, s.dead_lettered) == ("a", 1, False)


def test_the_second_retry_waits_twice_as_long_and_jitter_stretches_it() -> None:
    s = given_events(*running("a", 1), retried("a", 1), TaskAssigned(agent_id="b", attempt=2),
                     TaskStarted(agent_id="b", attempt=2))
    assert s.failures == 1
    [event] = t.record_failure(s, failure("b"), 2, POLICY, NOW, 0.5)
    assert isinstance(event, TaskRetryScheduled)
    assert (event.attempt, event.next_attempt, event.not_before) == (2, 3, NOW + timedelta(seconds=3.0))


def test_a_tasks_own_backoff_base_sets_the_retry_time() -> None:
    spec = TaskCreated(title="x", max_attempts=3, retry_backoff_s=10.0)
    s = given_events(*running("a", 1), spec=spec)
    [event] = t.record_failure(s, failure("a"), 1, POLICY, NOW, 0.0)
    assert isinstance(event, TaskRetryScheduled) and event.not_before == NOW + timedelta(seconds=5.0)


def test_the_last_attempts_failure_is_a_dead_letter() -> None:
    s = given_events(*running("a", 1), retried("a", 1), TaskAssigned(agent_id="a", attempt=2), retried("a", 2),
                     TaskAssigned(agent_id="b", attempt=3), TaskStarted(agent_id="b", attempt=3))
    assert (s.failures, s.attempt) == (2, 3)
    events = t.record_failure(s, failure("b"), 3, POLICY, NOW, 0.0)
    assert events == [TaskFailed(agent_id="b", attempt=3, error="boom", reason="executor_error", retryable=True,
                                 exit_code=1, output="out", dead_lettered=True)]
    s = given_events(*running("a", 1), retried("a", 1), TaskAssigned(agent_id="a", attempt=2), retried("a", 2),
                     TaskAssigned(agent_id="b", attempt=3), TaskStarted(agent_id="b", attempt=3), *events)
    assert (s.status, s.failures, s.dead_lettered, s.failure_reason) == (TaskStatus.FAILED, 3, True, "executor_error")
    assert s.finished_at is not None and s.agent_id == "b"


def test_a_single_attempt_task_is_dead_lettered_on_its_first_failure() -> None:
    s = given_events(*running("a", 1), spec=TaskCreated(title="x", max_attempts=1))
    [event] = t.record_failure(s, failure("a"), 1, POLICY, NOW, 0.0)
    assert isinstance(event, TaskFailed) and event.dead_lettered


def test_a_non_retryable_failure_is_a_dead_letter_at_once() -> None:
    s = given_events(*running("a", 1))
    events = t.record_failure(s, failure("a", retryable=False), 1, POLICY, NOW, 0.0)
    assert events == [TaskFailed(agent_id="a", attempt=1, error="boom", reason="executor_error", retryable=False,
                                 exit_code=1, output="out", dead_lettered=True)]
    s = given_events(*running("a", 1), *events)
    assert (s.status, s.failures, s.dead_lettered) == (TaskStatus.FAILED, 1, True)


def test_a_timeout_with_attempts_left_is_retried() -> None:
    s = given_events(*running("a", 1))
    [event] = t.record_failure(s, failure("a", reason=TIMED_OUT), 1, POLICY, NOW, 0.0)
    assert isinstance(event, TaskRetryScheduled)
    assert (event.reason, event.next_attempt, event.not_before) == (TIMED_OUT, 2, NOW + timedelta(seconds=1.0))
    s = given_events(*running("a", 1), event)
    assert (s.status, s.failures, s.failure_reason) == (TaskStatus.QUEUED, 1, TIMED_OUT)


def test_a_timeout_on_the_last_attempt_ends_the_task_timed_out() -> None:
    history = [*running("a", 1), retried("a", 1, TIMED_OUT), TaskAssigned(agent_id="a", attempt=2),
               retried("a", 2, TIMED_OUT), TaskAssigned(agent_id="a", attempt=3), TaskStarted(agent_id="a", attempt=3)]
    s = given_events(*history)
    events = t.record_failure(s, failure("a", reason=TIMED_OUT), 3, POLICY, NOW, 0.0)
    assert events == [TaskTimedOut(attempt=3, agent_id="a", error="boom", output="out", exit_code=1)]
    s = given_events(*history, *events)
    assert (s.status, s.failures, s.dead_lettered, s.failure_reason) == (TaskStatus.TIMED_OUT, 3, True, TIMED_OUT)
    assert t.is_terminal(s)


def test_a_failure_while_a_cancel_is_requested_cancels_and_is_never_retried() -> None:
    s = given_events(*running("a", 1), TaskCancelRequested())
    for reason, retryable in [("executor_error", True), (TIMED_OUT, True), ("executor_error", False)]:
        events = t.record_failure(s, failure("a", reason=reason, retryable=retryable), 1, POLICY, NOW, 0.0)
        assert events == [TaskCancelled(agent_id="a", attempt=1, reason="cancelled on request (boom)", output="out",
                                        exit_code=1)]
    s = given_events(*running("a", 1), TaskCancelRequested(), *events)
    assert (s.status, s.failures, s.dead_lettered) == (TaskStatus.CANCELLED, 0, False)


def test_a_failure_that_says_when_it_started_records_the_start_before_the_retry() -> None:
    s = given_events(TaskQueued(attempt=1), TaskAssigned(agent_id="a", attempt=1))
    at = NOW - timedelta(seconds=5)
    events = t.record_failure(s, failure("a"), 1, POLICY, NOW, 0.0, started_at=at)
    assert [type(e) for e in events] == [TaskStarted, TaskRetryScheduled]


def test_the_helper_fails_under_the_default_policy() -> None:
    s = given_events(*running("a", 1))
    [event] = fail(s, "a", 1, "x", True, 2, "o", now=NOW)
    # RetryPolicy() backs off 1 s first, without jitter half of that.
    assert isinstance(event, TaskRetryScheduled) and event.not_before == NOW + timedelta(seconds=0.5)


# -- lose ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("held", [
    [TaskQueued(attempt=1), TaskAssigned(agent_id="a", attempt=1)],
    running("a", 1),
])
def test_a_lost_agents_task_is_queued_again_at_once_without_using_an_attempt(held: list[Any]) -> None:
    s = given_events(*held)
    events = t.lose(s, POLICY, NOW)
    [event] = events
    assert isinstance(event, TaskRetryScheduled)
    assert (event.attempt, event.next_attempt, event.agent_id, event.reason, event.not_before) == (
        1, 2, "a", AGENT_LOST, NOW)
    s = given_events(*held, *events)
    assert (s.status, s.attempt, s.agent_id, s.failures, s.losses) == (TaskStatus.QUEUED, 2, None, 0, 1)
    assert (s.failure_reason, s.not_before) == (AGENT_LOST, NOW)
    # A lost attempt is not a failure its agent reported: no redelivery of it is expected.
    assert (s.failed_agent_id, s.failed_attempt) == (None, 0)


def test_agent_losses_are_capped_then_the_task_is_a_dead_letter() -> None:
    history: list[Any] = [TaskQueued(attempt=1)]
    policy = RetryPolicy(max_attempts=1, max_agent_losses=3)
    for attempt in (1, 2, 3):
        history.append(TaskAssigned(agent_id=f"a{attempt}", attempt=attempt))
        s = given_events(*history, spec=TaskCreated(title="x", max_attempts=1))
        events = t.lose(s, policy, NOW)
        history += events
        if attempt < 3:
            assert [type(e) for e in events] == [TaskRetryScheduled]
    assert events == [TaskFailed(agent_id="a3", attempt=3, reason=AGENT_LOST, retryable=True, dead_lettered=True,
                                 error="agent a3 was lost (no heartbeat) while it held attempt 3")]
    s = given_events(*history, spec=TaskCreated(title="x", max_attempts=1))
    # Losses never count as failures: a one-attempt task survived two lost agents.
    assert (s.status, s.losses, s.failures, s.dead_lettered, s.failure_reason) == (
        TaskStatus.FAILED, 3, 0, True, AGENT_LOST)


def test_losses_and_failures_are_budgeted_apart() -> None:
    # Two failures used two of three attempts; a loss after them still re-queues (losses have their own cap).
    s = given_events(*running("a", 1), retried("a", 1), TaskAssigned(agent_id="a", attempt=2), retried("a", 2),
                     TaskAssigned(agent_id="b", attempt=3))
    [event] = t.lose(s, POLICY, NOW)
    assert isinstance(event, TaskRetryScheduled) and event.next_attempt == 4


def test_a_lost_agents_task_with_a_cancel_requested_is_cancelled() -> None:
    s = given_events(*running("a", 1), TaskCancelRequested())
    [event] = t.lose(s, POLICY, NOW)
    assert isinstance(event, TaskCancelled) and (event.agent_id, event.attempt) == ("a", 1)


@pytest.mark.parametrize("history", [
    [],
    [TaskQueued(attempt=1)],
    [*running("a", 1), TaskCompleted(agent_id="a", attempt=1, result=TaskResult())],
    [*running("a", 1), TaskFailed(agent_id="a", attempt=1, error="x", dead_lettered=True)],
])
def test_only_a_task_an_agent_holds_can_be_lost(history: list[Any]) -> None:
    with pytest.raises(DomainError):
        t.lose(given_events(*history), POLICY, NOW)


# -- request_retry -------------------------------------------------------------------------------

DEAD = [*running("a", 1), retried("a", 1), TaskAssigned(agent_id="a", attempt=2),
        TaskFailed(agent_id="a", attempt=2, error="no", reason="executor_error", dead_lettered=True)]
TIMED = [*running("a", 1), TaskTimedOut(attempt=1, agent_id="a", error="slow")]


@pytest.mark.parametrize("history", [DEAD, TIMED], ids=["failed", "timed_out"])
def test_a_client_retry_gives_a_fresh_budget_and_the_next_attempt(history: list[Any]) -> None:
    s = given_events(*history)
    assert s.dead_lettered and s.failures >= 1
    assert t.request_retry(s) == [TaskRetryRequested()]
    s = given_events(*history, TaskRetryRequested())
    assert (s.status, s.agent_id, s.error, s.result, s.finished_at) == (TaskStatus.PENDING, None, None, None, None)
    assert (s.failures, s.losses, s.failure_reason, s.dead_lettered, s.not_before) == (0, 0, None, False, None)
    before = given_events(*history).attempt
    assert t.queue(s) == [TaskQueued(attempt=before + 1)]


def test_a_retried_task_gets_its_whole_budget_again() -> None:
    s = given_events(*DEAD, TaskRetryRequested(), TaskQueued(attempt=3), TaskAssigned(agent_id="b", attempt=3))
    [event] = t.record_failure(s, failure("b"), 3, POLICY, NOW, 0.0)
    assert isinstance(event, TaskRetryScheduled) and event.not_before == NOW + timedelta(seconds=1.0)


def test_a_client_retry_resets_the_losses_too() -> None:
    lost = [TaskQueued(attempt=1), TaskAssigned(agent_id="a", attempt=1),
            TaskFailed(agent_id="a", attempt=1, error="lost", reason=AGENT_LOST, dead_lettered=True)]
    s = given_events(*lost)
    assert s.losses == 1 and s.failures == 0
    s = given_events(*lost, TaskRetryRequested())
    assert (s.losses, s.failures) == (0, 0)


@pytest.mark.parametrize("history", [
    [],
    [TaskQueued(attempt=1)],
    [TaskQueued(attempt=1), TaskAssigned(agent_id="a", attempt=1)],
    running("a", 1),
    [*running("a", 1), TaskCompleted(agent_id="a", attempt=1, result=TaskResult())],
    [TaskQueued(attempt=1), TaskCancelRequested(), TaskCancelled(attempt=1, reason="r")],
], ids=["pending", "queued", "assigned", "running", "completed", "cancelled"])
def test_only_a_failed_or_timed_out_task_can_be_retried(history: list[Any]) -> None:
    with pytest.raises(DomainError):
        t.request_retry(given_events(*history))


def test_a_dependency_failure_is_not_a_failure_of_the_task() -> None:
    s = given_events(TaskFailed(attempt=0, error="dependency d did not complete", reason="dependency_failed"))
    assert (s.status, s.failures, s.losses, s.dead_lettered) == (TaskStatus.FAILED, 0, 0, False)


# -- reports: echoes and late reports ------------------------------------------------------------


def failed_report(agent: str, attempt: int, reason: str = "executor_error", retryable: bool = True) -> Failed:
    return Failed(agent_id=agent, sent_at=NOW, task_id="task-1", attempt=attempt, error="boom", retryable=retryable,
                  exit_code=1, output="out", reason=reason)


def test_a_failure_report_through_the_coordinator_schedules_the_retry() -> None:
    s = given_events(*running("a", 1))
    [event] = task_events(s, failed_report("a", 1), POLICY, NOW, 0.0)
    assert isinstance(event, TaskRetryScheduled) and event.next_attempt == 2


def test_a_redelivered_failure_report_after_its_retry_was_scheduled_is_an_echo() -> None:
    s = given_events(*running("a", 1), retried("a", 1))
    assert _is_echo(s, "a", 1, "failed")
    assert task_events(s, failed_report("a", 1), POLICY, NOW, 0.0) == []
    # Still an echo once the next attempt runs, even on the same agent.
    s = given_events(*running("a", 1), retried("a", 1), TaskAssigned(agent_id="a", attempt=2),
                     TaskStarted(agent_id="a", attempt=2))
    assert task_events(s, failed_report("a", 1), POLICY, NOW, 0.0) == []


@pytest.mark.parametrize("report", [
    failed_report("b", 1),  # another agent
    failed_report("a", 2),  # another attempt
    Completed(agent_id="a", sent_at=NOW, task_id="task-1", attempt=1, result=TaskResult()),
], ids=["other-agent", "other-attempt", "completed"])
def test_other_reports_after_a_retry_are_rejected_not_echoes(report: TaskReport) -> None:
    s = given_events(*running("a", 1), retried("a", 1))
    [event] = task_events(s, report, POLICY, NOW, 0.0)
    assert isinstance(event, TaskReportRejected) and (event.agent_id, event.attempt) == (report.agent_id,
                                                                                         report.attempt)


@pytest.mark.parametrize("report", [
    failed_report("a", 1),
    failed_report("a", 1, reason=TIMED_OUT),
    Completed(agent_id="a", sent_at=NOW, task_id="task-1", attempt=1, result=TaskResult()),
    Started(agent_id="a", sent_at=NOW, task_id="task-1", attempt=1),
], ids=["failed", "timed_out", "completed", "started"])
def test_a_report_from_a_lost_agents_attempt_is_recorded_as_rejected(report: TaskReport) -> None:
    s = given_events(*running("a", 1))
    lost = t.lose(s, POLICY, NOW)
    s = given_events(*running("a", 1), *lost)
    kind = str(type(report).__struct_config__.tag)
    assert not _is_echo(s, "a", 1, kind)
    [event] = task_events(s, report, POLICY, NOW, 0.0)
    assert isinstance(event, TaskReportRejected)
    assert (event.agent_id, event.attempt, event.report) == ("a", 1, kind)


def test_a_lost_agents_report_is_rejected_even_after_an_earlier_failure_of_its_own() -> None:
    # Agent a failed attempt 1 (redeliveries of that are echoes), then was lost holding attempt 2.
    held = [*running("a", 1), retried("a", 1), TaskAssigned(agent_id="a", attempt=2)]
    s = given_events(*held, *t.lose(given_events(*held), POLICY, NOW))
    assert (s.failed_agent_id, s.failed_attempt, s.attempt) == ("a", 1, 3)
    [event] = task_events(s, failed_report("a", 2), POLICY, NOW, 0.0)
    assert isinstance(event, TaskReportRejected)
    assert task_events(s, failed_report("a", 1), POLICY, NOW, 0.0) == []


def test_a_redelivered_final_failure_or_timeout_is_an_echo() -> None:
    history = [*running("a", 1)]
    s = given_events(*history)
    dead = t.record_failure(s, failure("a", retryable=False), 1, POLICY, NOW, 0.0)
    assert task_events(given_events(*history, *dead), failed_report("a", 1, retryable=False), POLICY, NOW, 0.0) == []
    timed = [TaskTimedOut(attempt=1, agent_id="a", error="slow")]
    s = given_events(*history, *timed)
    assert task_events(s, failed_report("a", 1, reason=TIMED_OUT), POLICY, NOW, 0.0) == []


def test_a_redelivered_start_of_a_run_that_timed_out_is_an_echo() -> None:
    s = given_events(*running("a", 1), TaskTimedOut(attempt=1, agent_id="a", error="slow"))
    assert task_events(s, Started(agent_id="a", sent_at=NOW, task_id="task-1", attempt=1), POLICY, NOW, 0.0) == []


def test_a_redelivered_start_of_a_run_that_failed_for_good_is_an_echo() -> None:
    # The passing twin of the test above: the same redelivery after a dead-lettered failure is an echo.
    s = given_events(*running("a", 1), TaskFailed(agent_id="a", attempt=1, error="x", dead_lettered=True))
    assert task_events(s, Started(agent_id="a", sent_at=NOW, task_id="task-1", attempt=1), POLICY, NOW, 0.0) == []
