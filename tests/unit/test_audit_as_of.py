"""Time travel's pure parts: what `as_of` accepts, and the history prefix it selects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from core.audit.as_of import BadAsOf, history_as_of, parse_as_of
from core.events import new_envelope
from core.events.envelope import Recorded
from core.events.task import TaskCreated, TaskQueued

T0 = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(("raw", "expected"), [
    ("1042", 1042),
    (" 7 ", 7),
    ("2030-01-01T00:00:00Z", T0),
    ("2030-01-01T01:00:00+01:00", T0),
    ("2030-01-01T00:00:00", T0),
    ("2030-01-01", T0),
])
def test_parse_as_of_accepts_a_sequence_or_a_time(raw: str, expected: int | datetime) -> None:
    assert parse_as_of(raw) == expected


@pytest.mark.parametrize("raw", ["", "yesterday", "-1", "1.5", "٣", str(2**63), "2030-13-01", "0001-01-01T00:00+23:59"])
def test_parse_as_of_refuses_anything_else(raw: str) -> None:
    with pytest.raises(BadAsOf):
        parse_as_of(raw)


def _rec(seq: int, at: datetime) -> Recorded[Any]:
    env = new_envelope(TaskQueued(attempt=seq), event_id=str(seq), aggregate_id="t", occurred_at=at, actor="c")
    return Recorded(seq=seq, envelope=env)


def test_history_as_of_is_a_prefix_by_sequence_or_time() -> None:
    created: Recorded[Any] = Recorded(seq=3, envelope=new_envelope(TaskCreated(title="t"), event_id="c", aggregate_id="t",
                                                    occurred_at=T0, actor="a"))
    # seq 9 was stamped before seq 7 by a writer with a slower clock: a time cut stops at the first later event.
    history = [created, _rec(5, T0 + timedelta(seconds=1)), _rec(7, T0 + timedelta(seconds=3)),
               _rec(9, T0 + timedelta(seconds=2))]
    assert [r.seq for r in history_as_of(history, 6)] == [3, 5]
    assert [r.seq for r in history_as_of(history, 7)] == [3, 5, 7]
    assert history_as_of(history, 2) == []
    assert [r.seq for r in history_as_of(history, T0 + timedelta(seconds=2))] == [3, 5]
    assert [r.seq for r in history_as_of(history, T0)] == [3]
    assert history_as_of(history, T0 - timedelta(microseconds=1)) == []
    assert [r.seq for r in history_as_of(history, (T0 + timedelta(hours=9)).astimezone(timezone(timedelta(hours=2))))] \
        == [3, 5, 7, 9]
