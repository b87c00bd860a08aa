"""WebSocket topics (pure): parsing, the permission each needs, which topics an event belongs to."""

from __future__ import annotations

import re
from typing import Final

import msgspec

from gateway.permissions import Permission

ANY: Final = "*"
SEVERITIES: Final = ("info", "warning", "critical")
# A topic id becomes a NATS subject token (replay), so only subject-safe characters are allowed.
_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")

# topic kind -> (aggregate whose events it carries, permission a subscriber needs)
_AGGREGATE_KINDS: Final = {
    "task": ("task", Permission.TASKS_VIEW),
    "agent": ("agent", Permission.AGENTS_VIEW),
    "execution": ("execution", Permission.EXECUTIONS_VIEW),
}
CLUSTER_STATUS: Final = "cluster.status"


class TopicError(ValueError):
    """A topic string that names no topic; the message says which forms exist."""


class Topic(msgspec.Struct, frozen=True):
    """`kind` is task, agent, execution, cluster or alerts; `key` an id, a severity, "status" or `*`."""

    kind: str
    key: str

    def __str__(self) -> str:
        return f"{self.kind}.{self.key}"

    @property
    def permission(self) -> Permission:
        if self.kind in _AGGREGATE_KINDS:
            return _AGGREGATE_KINDS[self.kind][1]
        return Permission.ALERTS_VIEW if self.kind == "alerts" else Permission.STATUS_VIEW

    @property
    def aggregate(self) -> str | None:
        """The event-log aggregate this topic follows (None: cluster status, fed by snapshots)."""
        if self.kind in _AGGREGATE_KINDS:
            return _AGGREGATE_KINDS[self.kind][0]
        return "system" if self.kind == "alerts" else None

    def replay_subject(self, prefix: str) -> str | None:
        """The event subjects a replay of this topic reads (None: nothing to replay)."""
        aggregate = self.aggregate
        if aggregate is None:
            return None
        if aggregate == "system":
            return f"{prefix}.events.system.>"
        return f"{prefix}.events.{aggregate}.{'*' if self.key == ANY else self.key}"


def parse_topic(raw: str) -> Topic:
    kind, dot, key = raw.partition(".")
    if not dot or not key:
        raise TopicError(_FORMS)
    if kind in _AGGREGATE_KINDS:
        if key != ANY and not _ID.match(key):
            raise TopicError(f"{kind} id must be 1-128 letters, digits, '-' or '_', or '*' for any")
        return Topic(kind, key)
    if kind == "alerts":
        if key != ANY and key not in SEVERITIES:
            raise TopicError(f"alert severity must be one of {', '.join(SEVERITIES)} or '*'")
        return Topic(kind, key)
    if raw == CLUSTER_STATUS:
        return Topic("cluster", "status")
    raise TopicError(_FORMS)


_FORMS = ("topics are task.<id>, agent.<id>, execution.<id> (with '*' for any id), cluster.status "
          "and alerts.<severity> (info, warning, critical or '*')")


def covers(pattern: Topic, concrete: Topic) -> bool:
    """Whether a subscription to `pattern` receives what is published on `concrete` (an exact topic)."""
    return pattern.kind == concrete.kind and (pattern.key == ANY or pattern.key == concrete.key)


def topic_of_event(aggregate: str, aggregate_id: str) -> Topic | None:
    """The topic that carries events of this aggregate instance (alerts are routed by severity instead)."""
    for kind, (agg, _) in _AGGREGATE_KINDS.items():
        if agg == aggregate:
            return Topic(kind, aggregate_id)
    return None
