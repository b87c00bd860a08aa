"""Fold invariants under random interleavings of agents' reports, lost agents, cancels, retries, pins and placement.

Every step is decided as the coordinator would: through the domain decision (a report through
core/coordinator/reports.task_events), applied only if allowed; a DomainError means the coordinator decides
nothing, a stale report becomes task.report_rejected.v1. The resulting history must never describe an
illegal task.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from core.coordinator.reports import TaskReport, task_events
from core.domain import task as t
from core.domain.retry import TIMED_OUT, RetryPolicy
from core.domain.task import HOLDS_SLOT, TERMINAL, UNPLACED, TaskStatus
from core.errors import DomainError
from core.events import new_envelope
from core.events.task import (
    TaskCompleted,
    TaskCreated,
    TaskEvent,
    TaskFailed,
    TaskReportRejected,
    TaskResult,
    TaskRetryRequested,
    TaskRetryScheduled,
    TaskTimedOut,
)
from core.messages import Completed, Failed, Started

T0 = datetime(2026, 1, 1, tzinfo=UTC)
AGENTS = ("a", "b", "c")

agent = st.sampled_from(AGENTS)
# None: the agent holding the task and its current attempt (a report that may match; most steps should);
# otherwise any agent or attempt, mostly stale.
reporter = st.one_of(st.none(), st.none(), st.none(), agent)
attempt = st.one_of(st.none(), st.none(), st.none(), st.integers(min_value=0, max_value=6))
outcome = st.sampled_from(["retryable", "non_retryable", TIMED_OUT])

# Placement and reports several times over: the rarer steps (cancels, losses, retries) end or restart a run.
# "advance" takes the task's next step on the happy path (queue, assign, start, end), so histories get deep.
step = st.one_of(
    *[st.tuples(st.just("advance"), agent, st.sampled_from(["complete", "retryable", "retryable", TIMED_OUT,
                                                             "non_retryable"]))] * 8,
    *[st.tuples(st.just("queue"))] * 3,
    *[st.tuples(st.just("assign"), agent)] * 4,
    *[st.tuples(st.just("start"), reporter, attempt)] * 2,
    st.tuples(st.just("complete"), reporter, attempt),
    *[st.tuples(st.just("fail"), reporter, attempt, outcome)] * 5,
    *[st.tuples(st.just("retry"))] * 3,
    *[st.tuples(st.just("lose"))] * 2,
    st.tuples(st.just("hand_back")),
    st.tuples(st.just("request_cancel")),
    st.tuples(st.just("cancel"), st.booleans()),
    st.tuples(st.just("pin"), agent),
)


def report(kind: str, agent_id: str, n: int, how: str, now: datetime) -> TaskReport:
    if kind == "start":
        return Started(agent_id=agent_id, sent_at=now, task_id="task-1", attempt=n)
    if kind == "complete":
        return Completed(agent_id=agent_id, sent_at=now, task_id="task-1", attempt=n, result=TaskResult(output=how))
    return Failed(agent_id=agent_id, sent_at=now, task_id="task-1", attempt=n, error="boom",
                  retryable=how != "non_retryable", reason=TIMED_OUT if how == TIMED_OUT else "executor_error")


def reporter_of(state: t.Task, agent_id: str | None, n: int | None) -> tuple[str, int]:
    return (state.agent_id or "a") if agent_id is None else agent_id, state.attempt if n is None else n


def advance(state: t.Task, agent_id: str, how: str) -> tuple[Any, ...]:
    match state.status:
        case TaskStatus.PENDING:
            return ("queue",)
        case TaskStatus.QUEUED:
            return ("assign", agent_id)
        case TaskStatus.ASSIGNED:
            return ("start", None, None)
        case TaskStatus.RUNNING:
            return ("complete", None, None) if how == "complete" else ("fail", None, None, how)
        case _:
            return ("retry",)


def decide(state: t.Task, s: tuple[Any, ...], policy: RetryPolicy, now: datetime, jitter: float) -> list[TaskEvent]:
    """The events the coordinator would append for this step (raises DomainError when it decides nothing)."""
    match s:
        case ("advance", agent_id, how):
            return decide(state, advance(state, agent_id, how), policy, now, jitter)
        case ("queue",):
            return t.queue(state)
        case ("assign", agent_id):
            return t.assign(state, agent_id)
        case ("start" | "complete" | "fail" as kind, agent_id, n, *how):
            return task_events(state, report(kind, *reporter_of(state, agent_id, n), "".join(how), now), policy, now,
                               jitter)
        case ("lose",):
            return t.lose(state, policy, now)
        case ("hand_back",):
            return t.hand_back(state)
        case ("request_cancel",):
            return t.request_cancel(state)
        case ("cancel", online):
            return t.cancel(state, agent_online=online)
        case ("retry",):
            return t.request_retry(state)
        case ("pin", agent_id):
            return t.pin(state, agent_id)
    raise AssertionError(f"unknown step {s}")


def _without_clock(state: t.Task) -> dict[str, Any]:
    fields = msgspec.structs.asdict(state)
    del fields["updated_at"]
    return fields


@settings(max_examples=300, deadline=None)
@given(
    steps=st.lists(step, min_size=20, max_size=80),
    max_attempts=st.integers(min_value=1, max_value=4),
    max_losses=st.integers(min_value=1, max_value=3),
    jitter=st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
    cancels=st.booleans(),
)
def test_no_interleaving_reaches_an_illegal_task(
        steps: list[tuple[Any, ...]], max_attempts: int, max_losses: int, jitter: float, cancels: bool) -> None:
    policy = RetryPolicy(max_attempts=max_attempts, backoff_s=1.0, backoff_max_s=8.0, max_agent_losses=max_losses)
    spec = TaskCreated(title="x", capabilities=["echo"], max_attempts=max_attempts)
    state = t.evolve(None, new_envelope(spec, event_id="e0", aggregate_id="task-1", occurred_at=T0, actor="test"))
    completions: Counter[int] = Counter()
    lost: set[tuple[str, int]] = set()
    seq = 0
    for i, s in enumerate(steps, start=1):
        now = T0 + timedelta(seconds=i)
        if s == ("request_cancel",) and not cancels:
            continue  # a cancel ends the task for good: half the histories have none, to get further
        try:
            events = decide(state, s, policy, now, jitter)
        except DomainError:
            continue  # the coordinator decides nothing
        before = state
        chained = t.after(state, events, now)
        for event in events:
            seq += 1
            state = t.evolve(state if state is not before else msgspec.structs.replace(state),
                             new_envelope(event, event_id=f"e{seq}", aggregate_id="task-1", occurred_at=now,
                                          actor="test"))
        trace = f"after {s} -> {events}"

        # A decision chained in memory (after) and the same events folded from the log agree.
        assert _without_clock(chained) == _without_clock(state), trace

        # A terminal task never changes, except by a client's retry; at most a rejected report is recorded.
        if before.status in TERMINAL:
            if events == [TaskRetryRequested()]:
                assert before.status in (TaskStatus.FAILED, TaskStatus.TIMED_OUT), trace
            else:
                assert all(isinstance(e, TaskReportRejected) for e in events), trace
                assert _without_clock(state) == _without_clock(before), trace

        # A report from an attempt whose agent was lost is never applied.
        if s[0] == "advance":
            s = advance(before, s[1], s[2])
        if s[0] in ("start", "complete", "fail"):
            if reporter_of(before, s[1], s[2]) in lost:
                assert all(isinstance(e, TaskReportRejected) for e in events), trace
        if s == ("lose",):
            lost.add((str(before.agent_id), before.attempt))

        # A run being cancelled ends cancelled, and a non-retryable failure ends the task: neither is retried.
        retried = any(isinstance(e, TaskRetryScheduled) for e in events)
        if before.cancel_requested_at is not None or (s[0] == "fail" and s[3] == "non_retryable"):
            assert not retried, trace

        completions.update(e.attempt for e in events if isinstance(e, TaskCompleted))
        assert all(count == 1 for count in completions.values()), trace
        assert sum(completions.values()) <= 1, trace  # completed is final: no run after it

        assert state.attempt >= before.attempt, trace
        if state.status in HOLDS_SLOT:
            assert state.agent_id is not None, trace
        if state.status in UNPLACED:
            assert state.agent_id is None, trace
        assert 0 <= state.failures <= max_attempts, trace
        assert 0 <= state.losses <= max_losses, trace
        if state.dead_lettered:
            assert state.status in (TaskStatus.FAILED, TaskStatus.TIMED_OUT), trace
        for e in events:
            if isinstance(e, TaskRetryScheduled):
                assert e.next_attempt == e.attempt + 1 and e.not_before >= now, trace
            if isinstance(e, TaskFailed | TaskTimedOut) and e.dead_lettered:
                assert before.status in HOLDS_SLOT, trace  # only a run is dead-lettered
