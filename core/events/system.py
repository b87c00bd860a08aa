"""System events (v1): alerts the coordinator raises and resolves, on aggregate `system`.

Each (rule, subject) pair is one aggregate, `alert.<rule>.<subject>`, so its raises and resolves are
ordered and guarded by the per-subject expected sequence; every raise starts an alert instance with an
`alert_id` of its own, which its resolve repeats. `severity` is in both events: the gateway routes them
to the WebSocket topic `alerts.<severity>`.
"""

from __future__ import annotations

from core.events.envelope import EventData


class SystemEventData(EventData, frozen=True, kw_only=True):
    AGGREGATE = "system"


class AlertRaised(SystemEventData, frozen=True, kw_only=True):
    TYPE = "alert.raised.v1"
    alert_id: str
    rule: str
    subject: str  # what the rule measured: an agent id, "cluster", a projection's name
    severity: str  # info, warning or critical
    measure: str
    value: float
    op: str
    threshold: float
    message: str


class AlertResolved(SystemEventData, frozen=True, kw_only=True):
    TYPE = "alert.resolved.v1"
    alert_id: str
    rule: str
    subject: str
    severity: str
    # The measure when it stopped breaching; None when it is no longer measured (the agent left, too few
    # samples in the window, the rule was removed from the configuration).
    value: float | None = None
    message: str


SystemEvent = AlertRaised | AlertResolved

SYSTEM_EVENTS: tuple[type[SystemEventData], ...] = (AlertRaised, AlertResolved)


def alert_aggregate_id(rule: str, subject: str) -> str:
    """The aggregate of one rule on one subject (both are subject tokens: see core.domain.alert_rules)."""
    return f"alert.{rule}.{subject}"
