"""The batch fold: events in stream order become one change per row (pure, no servers)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec

from core.events import encode_envelope, new_envelope
from core.events.agent import AgentDeregistered, AgentDrainRequested, AgentRegistered
from core.events.envelope import EventData
from core.events.task import (
    TaskAssigned,
    TaskCancelled,
    TaskCancelRequested,
    TaskCompleted,
    TaskCreated,
    TaskPinned,
    TaskQueued,
    TaskResult,
    TaskStarted,
)
from core.store.reader import stream_seqs
from projections.rows import fold_batch

T0 = datetime(2024, 5, 1, tzinfo=UTC)


def raw(seq: int, aggregate_id: str, event: EventData) -> tuple[int, bytes]:
    env = new_envelope(event, event_id=f"e{seq}", aggregate_id=aggregate_id,
                       occurred_at=T0 + timedelta(seconds=seq), actor="user:ada")
    return seq, encode_envelope(env)


def test_new_task_folds_to_a_whole_row() -> None:
    ch = fold_batch([
        raw(1, "t1", TaskCreated(title="x", capabilities=["llm"])),
        raw(2, "t1", TaskQueued(attempt=1)),
        raw(3, "t1", TaskAssigned(agent_id="a", attempt=1)),
        raw(4, "t1", TaskStarted(agent_id="a", attempt=1)),
        raw(5, "t1", TaskCompleted(agent_id="a", attempt=1, result=TaskResult(output="ok"))),
    ])
    row = ch.tasks["t1"]
    assert row.spec is not None and row.spec.title == "x" and row.created_by == "user:ada"
    assert (row.status, row.attempt, row.agent_id, row.last_seq) == ("completed", 1, "a", 5)
    assert msgspec.json.decode(row.result or "") == {"output": "ok", "exit_code": None, "metrics": {}}
    assert row.created_at == T0 + timedelta(seconds=1) and row.finished_at == T0 + timedelta(seconds=5)


def test_existing_task_folds_to_a_patch_that_can_clear_columns() -> None:
    ch = fold_batch([raw(7, "t1", TaskQueued(attempt=2))])
    row = ch.tasks["t1"]
    assert row.spec is None
    assert (row.status, row.attempt, row.agent_id, row.agent_set, row.error_set) == ("queued", 2, None, True, False)
    assert row.started_at is None and row.last_seq == 7


def test_agent_registered_then_deregistered_in_one_batch() -> None:
    ch = fold_batch([
        raw(1, "a1", AgentRegistered(name="n", session_id="s", capabilities={"llm": 1.0})),
        raw(2, "a1", AgentDeregistered(session_id="s")),
    ])
    agent = ch.agents["a1"]
    assert agent.registered is not None and agent.status == "offline" and agent.last_seq == 2


def test_unknown_and_corrupt_events_are_skipped() -> None:
    unknown = b'{"event_id":"e","type":"task.teleported.v9","aggregate":"task","aggregate_id":"t",' \
              b'"occurred_at":"2024-05-01T00:00:00Z","actor":"x","data":{}}'
    ch = fold_batch([(1, unknown), (2, b"not json"), raw(3, "t2", TaskCreated(title="y"))])
    assert ch.skipped == 2 and list(ch.tasks) == ["t2"]


def test_stream_seqs_from_both_ack_subject_forms() -> None:
    assert stream_seqs(b"$JS.ACK.S.C.1.42.7.1700000000.0") == (42, 7)
    assert stream_seqs(b"$JS.ACK.dom.acc.S.C.1.42.7.1700000000.0.tok") == (42, 7)


def test_cancel_request_cancel_and_pin_fold_to_the_row_and_mark_it() -> None:
    ch = fold_batch([
        raw(1, "t1", TaskCreated(title="x")),
        raw(2, "t1", TaskPinned(agent_id="gpu-b")),
        raw(3, "t1", TaskQueued(attempt=1)),
        raw(4, "t1", TaskCancelRequested()),
        raw(5, "t1", TaskCancelled(attempt=1, reason="cancelled on request before it ran")),
        raw(6, "t2", TaskCancelled(attempt=1, agent_id="a", reason="stopped", output="half", exit_code=-15)),
    ])
    row = ch.tasks["t1"]
    assert (row.status, row.error, row.pinned_agent_id, row.last_seq) == (
        "cancelled", "cancelled on request before it ran", "gpu-b", 5)
    assert row.cancel_requested_at == T0 + timedelta(seconds=4) and row.finished_at == T0 + timedelta(seconds=5)
    assert row.result is None  # it never ran
    assert list(ch.marked) == ["t1"]
    ran = ch.tasks["t2"]
    assert msgspec.json.decode(ran.result or "") == {"output": "half", "exit_code": -15, "metrics": {}}


def test_drain_shows_the_agent_draining_until_it_deregisters() -> None:
    ch = fold_batch([
        raw(1, "a1", AgentRegistered(name="n", session_id="s", capabilities={})),
        raw(2, "a1", AgentDrainRequested(session_id="s")),
    ])
    assert ch.agents["a1"].status == "draining" and ch.agents["a1"].last_seq == 2
    ch = fold_batch([raw(3, "a1", AgentDrainRequested(session_id="s")), raw(4, "a1", AgentDeregistered(session_id="s"))])
    assert (ch.agents["a1"].status, ch.agents["a1"].registered) == ("offline", None)
    # A drain meant for an earlier session does not touch the one registered since.
    ch = fold_batch([raw(5, "a1", AgentRegistered(name="n", session_id="s2", capabilities={})),
                     raw(6, "a1", AgentDrainRequested(session_id="s"))])
    assert ch.agents["a1"].status == "online"
