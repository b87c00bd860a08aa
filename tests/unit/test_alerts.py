"""Alert rules, their configuration, the fold of alert events and the raise/resolve decisions (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from core.domain.alert_rules import DEFAULT_RULES, AlertConfigError, AlertRule, rules_from_config
from core.domain.alerts import AlertState, Raise, Resolve, evaluate, fold_event, step
from core.events.system import AlertRaised, AlertResolved, alert_aggregate_id

T0 = datetime(2025, 1, 1, tzinfo=UTC)
CPU = AlertRule(name="high_cpu", measure="cpu_percent", threshold=85.0, severity="warning", cooldown_s=300.0)
HELD = msgspec.structs.replace(CPU, for_s=60.0)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def opened(resolved_at: datetime | None = None, open_id: str | None = "a1") -> AlertState:
    return AlertState(rule="high_cpu", subject="gpu-1", open_id=open_id, severity="warning", raised_at=T0,
                      resolved_at=resolved_at, last_seq=3)


# (case, rule, state, value, breaching since, now) -> (decision kind, breaching since afterwards)
@pytest.mark.parametrize(("rule", "state", "value", "since", "now", "kind", "since_after"), [
    pytest.param(CPU, None, 50.0, None, at(0), None, None, id="below threshold: nothing"),
    pytest.param(CPU, None, 85.0, None, at(0), None, None, id="at the threshold of '>': not breaching"),
    pytest.param(CPU, None, 95.0, None, at(0), Raise, at(0), id="breaching, no hold: raised"),
    pytest.param(CPU, None, None, None, at(0), None, None, id="not measured, nothing open: nothing"),
    pytest.param(HELD, None, 95.0, None, at(0), None, at(0), id="breaching, held for_s: the hold starts"),
    pytest.param(HELD, None, 95.0, at(0), at(59), None, at(0), id="held less than for_s: still waiting"),
    pytest.param(HELD, None, 95.0, at(0), at(60), Raise, at(0), id="held for_s: raised"),
    pytest.param(HELD, None, 50.0, at(0), at(30), None, None, id="a dip resets the hold"),
    pytest.param(CPU, opened(), 95.0, at(0), at(10), None, at(0), id="open and breaching: not raised twice"),
    pytest.param(CPU, opened(), 40.0, at(0), at(10), Resolve, None, id="open, back under: resolved"),
    pytest.param(CPU, opened(), None, at(0), at(10), Resolve, None, id="open, no longer measured: resolved"),
    pytest.param(CPU, opened(at(0), None), 95.0, None, at(299), None, at(299), id="within cooldown of resolve"),
    pytest.param(CPU, opened(at(0), None), 95.0, at(299), at(300), Raise, at(299), id="cooldown over: raised"),
    pytest.param(HELD, opened(at(0), None), 95.0, at(200), at(300), Raise, at(200),
                 id="the hold may run during the cooldown"),
])
def test_step(rule: AlertRule, state: AlertState | None, value: float | None, since: datetime | None,
              now: datetime, kind: type | None, since_after: datetime | None) -> None:
    decision, after = step(rule, "gpu-1", state, value, since, now)
    assert (type(decision) if decision is not None else None) is kind
    assert after == since_after
    if isinstance(decision, Raise):
        assert (decision.subject, decision.value, decision.key) == ("gpu-1", value, "alert.high_cpu.gpu-1")
        assert decision.message() == f"high_cpu: cpu_percent of gpu-1 is {value:g} (> 85)"
    if isinstance(decision, Resolve):
        assert decision.value == value and decision.key == "alert.high_cpu.gpu-1"


@pytest.mark.parametrize(("op", "value", "breached"), [
    (">", 10.0, False), (">", 10.5, True), (">=", 10.0, True), ("<", 9.9, True), ("<", 10.0, False),
    ("<=", 10.0, True), ("<=", 10.1, False),
])
def test_operators(op: str, value: float, breached: bool) -> None:
    rule = msgspec.convert({**msgspec.to_builtins(CPU), "op": op, "threshold": 10.0}, AlertRule)
    assert rule.breached(value) is breached


def test_evaluate_covers_measured_and_open_subjects_and_holds_what_was_not_measured() -> None:
    book = {alert_aggregate_id("high_cpu", "gone"): AlertState(rule="high_cpu", subject="gone", open_id="x1",
                                                               severity="warning", last_seq=5)}
    breaching: dict[str, datetime] = {}
    out = evaluate([CPU], book, {"high_cpu": {"gpu-1": 99.0, "gpu-2": 10.0}}, breaching, at(0))
    assert [(type(d).__name__, d.key) for d in out] == [
        ("Resolve", "alert.high_cpu.gone"),  # its agent is no longer measured (left the fleet)
        ("Raise", "alert.high_cpu.gpu-1"),
    ]
    assert breaching == {"alert.high_cpu.gpu-1": at(0)}
    # A round in which the measure could not be taken changes nothing, open alerts included.
    assert evaluate([CPU], book, {"high_cpu": None}, breaching, at(1)) == []
    assert evaluate([CPU], book, {}, breaching, at(1)) == []


def test_an_open_alert_of_a_rule_no_longer_configured_is_resolved() -> None:
    book = {"alert.high_cpu.gpu-1": opened()}
    [decision] = evaluate([], book, {}, {}, at(0))
    assert isinstance(decision, Resolve) and decision.reason == "the rule is no longer configured"


def _raised(alert_id: str, subject: str = "gpu-1") -> AlertRaised:
    return AlertRaised(alert_id=alert_id, rule="high_cpu", subject=subject, severity="warning", measure="cpu_percent",
                       value=95.0, op=">", threshold=85.0, message="m")


def _resolved(alert_id: str) -> AlertResolved:
    return AlertResolved(alert_id=alert_id, rule="high_cpu", subject="gpu-1", severity="warning", value=40.0,
                         message="m")


def test_the_book_is_a_fold_of_the_log_so_a_restart_keeps_open_alerts_and_cooldowns() -> None:
    key = alert_aggregate_id("high_cpu", "gpu-1")
    book: dict[str, AlertState] = {}
    fold_event(book, key, _raised("a1"), at(0), 10)
    assert (book[key].open_id, book[key].raised_at, book[key].last_seq) == ("a1", at(0), 10)
    # Rebuilt after a restart: still open, so a breaching measure raises nothing more.
    assert evaluate([CPU], book, {"high_cpu": {"gpu-1": 99.0}}, {}, at(5)) == []
    fold_event(book, key, _resolved("other"), at(6), 11)  # not this instance: ignored but sequenced
    assert book[key].open_id == "a1" and book[key].last_seq == 11
    fold_event(book, key, _resolved("a1"), at(7), 12)
    assert (book[key].open_id, book[key].resolved_at, book[key].last_seq) == (None, at(7), 12)
    # The cooldown counts from the resolve in the log.
    assert evaluate([CPU], book, {"high_cpu": {"gpu-1": 99.0}}, {}, at(306)) == []
    [again] = evaluate([CPU], book, {"high_cpu": {"gpu-1": 99.0}}, {}, at(307))
    assert isinstance(again, Raise)


# -- configuration ---------------------------------------------------------------------------------

def test_defaults_are_the_five_rules_of_the_design() -> None:
    rules = {r.name: r for r in rules_from_config({})}
    assert list(rules) == ["high_cpu", "agent_down", "slow_response", "task_failure_rate", "projection_lag"]
    assert (rules["high_cpu"].threshold, rules["high_cpu"].severity, rules["high_cpu"].cooldown_s) == (85, "warning", 300)
    assert (rules["agent_down"].severity, rules["agent_down"].cooldown_s) == ("critical", 60)
    assert (rules["slow_response"].threshold, rules["slow_response"].cooldown_s) == (60, 180)
    assert rules_from_config({}) == DEFAULT_RULES


@pytest.mark.parametrize(("overrides", "names", "check"), [
    ({"high_cpu": {"threshold": 90, "for_s": 0}}, None, lambda r: (r["high_cpu"].threshold, r["high_cpu"].for_s) == (90, 0)),
    ({"high_cpu": None}, ["agent_down", "slow_response", "task_failure_rate", "projection_lag"], None),
    ({"agent_down": {"enabled": False}}, ["high_cpu", "slow_response", "task_failure_rate", "projection_lag"], None),
    ({"very_high_cpu": {"measure": "cpu_percent", "threshold": 97, "severity": "critical", "cooldown_s": 60}},
     ["high_cpu", "agent_down", "slow_response", "task_failure_rate", "projection_lag", "very_high_cpu"],
     lambda r: r["very_high_cpu"].severity == "critical" and r["very_high_cpu"].op == ">"),
])
def test_overrides(overrides: dict, names: list[str] | None, check) -> None:  # type: ignore[no-untyped-def]
    rules = {r.name: r for r in rules_from_config(overrides)}
    if names is not None:
        assert list(rules) == names
    if check is not None:
        assert check(rules)


@pytest.mark.parametrize(("overrides", "where"), [
    ({"high_cpu": {"threshold": "high"}}, "$.high_cpu.threshold"),
    ({"high_cpu": {"severity": "loud"}}, "$.high_cpu.severity"),
    ({"high_cpu": {"measure": "temperature"}}, "$.high_cpu.measure"),
    ({"high_cpu": {"cooldown_s": -1}}, "$.high_cpu.cooldown_s"),
    ({"high_cpu": {"window_s": 0}}, "$.high_cpu.window_s"),
    ({"high_cpu": {"thresold": 90}}, "$.high_cpu.thresold"),
    ({"high_cpu": {"name": "x"}}, "$.high_cpu.name"),
    ({"high_cpu": 90}, "$.high_cpu"),
    ({"new_rule": {"measure": "cpu_percent", "severity": "info", "cooldown_s": 1}}, "$.new_rule.threshold"),
    ({"High CPU": {}}, "$.High CPU"),
])
def test_a_bad_configuration_names_the_field(overrides: dict, where: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(AlertConfigError) as err:
        rules_from_config(overrides)
    assert str(err.value).startswith("HIVE_ALERT_RULES: ") and str(err.value).endswith(f"at `{where}`")
