"""Alert rules: a threshold on a named measure, with severity, cooldown and an optional hold time (pure).

The defaults are the original design's three rules plus two for the event-sourced parts; the
environment's HIVE_ALERT_RULES (a JSON object, rule name -> fields) overrides fields of a default,
disables one (`null` or `{"enabled": false}`) or adds a rule on any known measure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Final, Literal

import msgspec
from msgspec import Meta

from core.errors import HiveError

Severity = Literal["info", "warning", "critical"]
Op = Literal[">", ">=", "<", "<="]
SEVERITIES: Final = ("info", "warning", "critical")

# measure -> what it is. "Per agent" measures have the agent id as subject; the others "cluster" or
# the projection's name.
MEASURES: Final = {
    "cpu_percent": "per agent: CPU use in percent, from its latest heartbeat",
    "heartbeat_age_s": "per agent not deregistered: seconds since its last heartbeat (or its registration)",
    "avg_response_time_s": "per agent: mean seconds from assignment to its result, over the last window_s",
    "task_failure_rate": "cluster: failed / finished task executions over the last window_s, 0 to 1",
    "projection_lag_events": "per projection: events in the log after its committed checkpoint",
}
Measure = Literal["cpu_percent", "heartbeat_age_s", "avg_response_time_s", "task_failure_rate",
                  "projection_lag_events"]

# A rule name becomes a subject token of its alerts' aggregate (alert.<rule>.<subject>).
RULE_NAME = re.compile(r"^[a-z0-9_]{1,64}$")
ENV_VAR: Final = "HIVE_ALERT_RULES"

Seconds = Annotated[float, Meta(ge=0)]


class AlertRule(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Fires for a subject while `measure <op> threshold`; raised once it has held for `for_s`, and not
    again within `cooldown_s` of its last resolve."""

    name: str
    measure: Measure
    op: Op = ">"
    threshold: float
    severity: Severity
    cooldown_s: Seconds
    for_s: Seconds = 0.0
    # Windowed measures (avg_response_time_s, task_failure_rate): the window, and the fewest samples in it
    # for the measure to count (below that, the subject is not measured: nothing is raised, an open alert
    # resolves).
    window_s: Annotated[float, Meta(gt=0)] = 300.0
    min_samples: Annotated[int, Meta(ge=1)] = 1
    enabled: bool = True

    def breached(self, value: float) -> bool:
        t = self.threshold
        match self.op:
            case ">":
                return value > t
            case ">=":
                return value >= t
            case "<":
                return value < t
            case "<=":
                return value <= t


DEFAULT_RULES: Final = (
    # Original design: cpu_usage > 85, warning, cooldown 5 min. Held for a minute: one busy moment is not news.
    AlertRule(name="high_cpu", measure="cpu_percent", threshold=85.0, severity="warning", cooldown_s=300.0,
              for_s=60.0),
    # Original design: agent_available == false, critical, cooldown 1 min. Unavailable = no heartbeat for 15 s
    # (7 missed beats at the default 2 s interval).
    AlertRule(name="agent_down", measure="heartbeat_age_s", threshold=15.0, severity="critical", cooldown_s=60.0),
    # Original design: avg_response_time > 60 (s), warning, cooldown 3 min.
    AlertRule(name="slow_response", measure="avg_response_time_s", threshold=60.0, severity="warning",
              cooldown_s=180.0, window_s=600.0),
    # More than a quarter of the last 5 minutes' executions failed, out of at least 20.
    AlertRule(name="task_failure_rate", measure="task_failure_rate", threshold=0.25, severity="warning",
              cooldown_s=300.0, window_s=300.0, min_samples=20),
    # The read models are over 10,000 events behind the log for a minute (a rebuild or burst catches up faster).
    AlertRule(name="projection_lag", measure="projection_lag_events", threshold=10_000.0, severity="warning",
              cooldown_s=300.0, for_s=60.0),
)


class AlertConfigError(HiveError):
    """HIVE_ALERT_RULES is not valid; the message names the field (`$.high_cpu.threshold`)."""


_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)


def rules_from_config(overrides: Mapping[str, Any],
                      defaults: tuple[AlertRule, ...] = DEFAULT_RULES) -> tuple[AlertRule, ...]:
    """The enabled rules: `defaults` with HIVE_ALERT_RULES' object (rule name -> fields, or null) applied."""
    rules = {r.name: r for r in defaults}
    for name, fields in overrides.items():
        if not RULE_NAME.match(name):
            raise AlertConfigError(f"{ENV_VAR}: a rule name is 1-64 of a-z, 0-9 and _ - at `$.{name}`")
        if fields is None:
            rules.pop(name, None)
            continue
        rules[name] = _rule(name, fields, rules.get(name))
    return tuple(r for r in rules.values() if r.enabled)


def _rule(name: str, fields: Any, base: AlertRule | None) -> AlertRule:
    if not isinstance(fields, dict):
        raise AlertConfigError(f"{ENV_VAR}: expected an object of rule fields (or null) - at `$.{name}`")
    if "name" in fields:
        raise AlertConfigError(f"{ENV_VAR}: the name is the key, not a field - at `$.{name}.name`")
    merged = {**(msgspec.to_builtins(base) if base is not None else {}), **fields, "name": name}
    try:
        return msgspec.convert(merged, AlertRule)
    except msgspec.ValidationError as err:
        m = _AT.match(str(err))
        assert m is not None
        message, path = m["message"], m["path"] or ""
        if field := re.match(r"^Object (?:missing required|contains unknown) field `(.*)`$", message):
            path = f"{path}.{field[1]}"
        if path == ".measure":
            message += f" (measures: {', '.join(MEASURES)})"
        raise AlertConfigError(f"{ENV_VAR}: {message} - at `$.{name}{path}`") from err
