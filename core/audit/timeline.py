"""An aggregate's history as text for people (`hive audit task ID`) or as JSON for programs (`--json`)."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import msgspec

from core.events.envelope import Recorded

VALUE_MAX = 60


def event_dict(rec: Recorded[Any]) -> dict[str, Any]:
    """The API's shape of one event (as GET /api/tasks/{id}/events gives it)."""
    env = rec.envelope
    data = msgspec.to_builtins(env.data)
    return {"seq": rec.seq, "event_id": env.event_id, "type": env.type,
            "occurred_at": env.occurred_at.astimezone(UTC).isoformat(), "actor": env.actor,
            "correlation_id": env.correlation_id, "causation_id": env.causation_id,
            "data": data if isinstance(data, dict) else {"value": data}}


def _value(value: Any) -> str:
    text = msgspec.json.encode(value).decode()
    return text if len(text) <= VALUE_MAX else text[: VALUE_MAX - 1] + "…"


def summary(data: dict[str, Any]) -> str:
    """The payload's fields that say something (empty values left out), each shortened."""
    return " ".join(f"{key}={_value(value)}" for key, value in data.items() if value not in (None, "", [], {}))


def timeline(aggregate: str, aggregate_id: str, history: list[Recorded[Any]]) -> str:
    """One line per event: sequence, time (UTC), actor, type, and what the payload says."""
    if not history:
        return f"no {aggregate} with id {aggregate_id} in the log"
    events = [event_dict(rec) for rec in history]
    seq_w = max(len(str(e["seq"])) for e in events)
    actor_w = min(24, max(len(e["actor"]) for e in events))
    type_w = max(len(e["type"]) for e in events)
    lines = [f"{aggregate} {aggregate_id}: {len(events)} event{'s' if len(events) != 1 else ''}"]
    for e, rec in zip(events, history, strict=True):
        at = rec.envelope.occurred_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        lines.append(f"  #{e['seq']:<{seq_w}}  {at}Z  {e['actor']:<{actor_w}}  {e['type']:<{type_w}}  "
                     f"{summary(e['data'])}".rstrip())
    return "\n".join(lines)
