"""Alert events on the wire: decoded like every event, folded into alert rows, routed to alerts.<severity>."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.events import decode_envelope, encode_envelope, new_envelope
from core.events.envelope import EventData
from core.events.system import AlertRaised, AlertResolved, alert_aggregate_id
from gateway.live.hub import topic_of_stored
from gateway.live.topics import Topic
from projections.rows import fold_batch

T0 = datetime(2025, 1, 1, tzinfo=UTC)
KEY = alert_aggregate_id("agent_down", "gpu-1")


def raw(seq: int, event: EventData) -> tuple[int, bytes]:
    env = new_envelope(event, event_id=f"e{seq}", aggregate_id=KEY, occurred_at=T0 + timedelta(seconds=seq),
                       actor="coordinator")
    return seq, encode_envelope(env)


RAISED = AlertRaised(alert_id="a1", rule="agent_down", subject="gpu-1", severity="critical", measure="heartbeat_age_s",
                     value=31.5, op=">", threshold=15.0, message="agent_down: heartbeat_age_s of gpu-1 is 31.5 (> 15)")
RESOLVED = AlertResolved(alert_id="a1", rule="agent_down", subject="gpu-1", severity="critical", value=0.4,
                         message="agent_down on gpu-1 resolved: heartbeat_age_s is 0.4")


def test_alert_events_are_system_events_with_a_versioned_tag() -> None:
    _, data = raw(1, RAISED)
    env = decode_envelope(data)
    assert (env.type, env.aggregate, env.aggregate_id, env.data) == ("alert.raised.v1", "system", KEY, RAISED)
    assert KEY == "alert.agent_down.gpu-1"


def test_the_gateway_routes_both_to_their_severity_s_topic() -> None:
    for event in (RAISED, RESOLVED):
        assert topic_of_stored(raw(1, event)[1]) == Topic("alerts", "critical")


def test_raise_and_resolve_in_one_batch_fold_into_one_resolved_row() -> None:
    ch = fold_batch([raw(1, RAISED), raw(2, RESOLVED)])
    row = ch.alerts["a1"]
    assert row.raised == RAISED and row.resolved == RESOLVED and row.last_seq == 2
    assert row.raised_at == T0 + timedelta(seconds=1) and row.resolved_at == T0 + timedelta(seconds=2)
    assert ch.skipped == 0


def test_a_resolve_in_a_later_batch_folds_to_a_patch() -> None:
    ch = fold_batch([raw(7, RESOLVED)])
    row = ch.alerts["a1"]
    assert row.raised is None and row.resolved == RESOLVED and row.last_seq == 7
