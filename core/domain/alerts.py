"""Alerts as a fold of the log and as decisions from measurements (pure: `now` is an argument).

Semantics, per rule and subject (an agent id, "cluster", a projection):

- The rule *breaches* while the subject's measure `<op> threshold`.
- Raise when it has breached continuously for `for_s` (tracked in memory: a restart starts the hold
  again), no alert of it is open, and `cooldown_s` has passed since its last resolve (the resolve's time
  is in the log, so the cooldown survives a restart).
- Resolve an open alert as soon as its measure no longer breaches, or the subject is no longer measured
  (the agent deregistered, too few samples in the window), or its rule is no longer configured.
- A measure not taken this time (None for the whole rule: e.g. NATS did not answer) changes nothing.

Open alerts and last resolves are folded from `alert.raised.v1` / `alert.resolved.v1`, so after a
restart the coordinator knows what is open and raises nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from datetime import datetime, timedelta
from typing import Any, assert_never

import msgspec

from core.domain.alert_rules import AlertRule
from core.events.system import AlertRaised, AlertResolved, SystemEvent, alert_aggregate_id


class AlertState(msgspec.Struct, kw_only=True):
    """One (rule, subject) as the log has it."""

    rule: str
    subject: str
    open_id: str | None = None  # the open alert instance, if any
    severity: str = ""
    raised_at: datetime | None = None
    resolved_at: datetime | None = None
    last_seq: int = 0


def evolve(state: AlertState | None, event: SystemEvent, at: datetime, seq: int) -> AlertState:
    if state is None:
        state = AlertState(rule=event.rule, subject=event.subject)
    match event:
        case AlertRaised():
            state.open_id, state.severity, state.raised_at = event.alert_id, event.severity, at
        case AlertResolved():
            if state.open_id == event.alert_id:
                state.open_id, state.resolved_at = None, at
        case _:
            assert_never(event)
    state.last_seq = seq
    return state


class Raise(msgspec.Struct, frozen=True, kw_only=True):
    rule: AlertRule
    subject: str
    value: float

    @property
    def key(self) -> str:
        return alert_aggregate_id(self.rule.name, self.subject)

    def message(self) -> str:
        r = self.rule
        return f"{r.name}: {r.measure} of {self.subject} is {self.value:.4g} ({r.op} {r.threshold:g})"


class Resolve(msgspec.Struct, frozen=True, kw_only=True):
    state: AlertState
    value: float | None
    reason: str

    @property
    def key(self) -> str:
        return alert_aggregate_id(self.state.rule, self.state.subject)

    def message(self) -> str:
        return f"{self.state.rule} on {self.state.subject} resolved: {self.reason}"


Decision = Raise | Resolve


def step(rule: AlertRule, subject: str, state: AlertState | None, value: float | None,
         breaching_since: datetime | None, now: datetime) -> tuple[Decision | None, datetime | None]:
    """One rule on one subject: what to do now, and since when it has been breaching (None: it is not)."""
    is_open = state is not None and state.open_id is not None
    if value is None or not rule.breached(value):
        if is_open:
            assert state is not None
            reason = "no longer measured" if value is None else f"{rule.measure} is {value:.4g}"
            return Resolve(state=state, value=value, reason=reason), None
        return None, None
    since = breaching_since or now
    if is_open or now - since < timedelta(seconds=rule.for_s):
        return None, since
    if state is not None and state.resolved_at is not None and now < state.resolved_at + timedelta(
            seconds=rule.cooldown_s):
        return None, since
    return Raise(rule=rule, subject=subject, value=value), since


def evaluate(
    rules: Iterable[AlertRule],
    book: Mapping[str, AlertState],
    measured: Mapping[str, Mapping[str, float] | None],
    breaching: MutableMapping[str, datetime],
    now: datetime,
) -> list[Decision]:
    """Every rule on every subject it measured or has open: the raises and resolves due now.

    `measured` is rule name -> subject -> value (a rule missing or None was not measured this time);
    `breaching` (key -> since when) is updated in place."""
    out: list[Decision] = []
    names: set[str] = set()
    open_by_rule: dict[str, list[AlertState]] = {}
    for state in book.values():
        if state.open_id is not None:
            open_by_rule.setdefault(state.rule, []).append(state)
    for rule in rules:
        names.add(rule.name)
        values = measured.get(rule.name)
        if values is None:
            continue
        subjects = set(values) | {s.subject for s in open_by_rule.get(rule.name, ())}
        for subject in sorted(subjects):
            key = alert_aggregate_id(rule.name, subject)
            decision, since = step(rule, subject, book.get(key), values.get(subject), breaching.get(key), now)
            if since is None:
                breaching.pop(key, None)
            else:
                breaching[key] = since
            if decision is not None:
                out.append(decision)
    for rule_name, states in open_by_rule.items():
        if rule_name not in names:
            out += [Resolve(state=s, value=None, reason="the rule is no longer configured") for s in states]
    return out


def fold_event(book: MutableMapping[str, AlertState], aggregate_id: str, event: Any, at: datetime,
               seq: int) -> None:
    """Apply one system event to the book (other system events, if any appear, are not alerts)."""
    if isinstance(event, AlertRaised | AlertResolved):
        book[aggregate_id] = evolve(book.get(aggregate_id), event, at, seq)
