"""An aggregate's history as the API shows it: each stored event with its stream sequence."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from core.events.envelope import Recorded


class EventView(msgspec.Struct, kw_only=True):
    """One stored event: `seq` is its stream sequence, `actor` who caused it, `data` its payload."""

    seq: int
    event_id: str
    type: str
    occurred_at: datetime
    actor: str
    correlation_id: str | None
    causation_id: str | None
    data: dict[str, Any]


class EventPage(msgspec.Struct, kw_only=True):
    items: list[EventView]
    next_cursor: str | None


def event_view(rec: Recorded[Any]) -> EventView:
    env = rec.envelope
    data = msgspec.to_builtins(env.data)
    return EventView(seq=rec.seq, event_id=env.event_id, type=env.type, occurred_at=env.occurred_at, actor=env.actor,
                     correlation_id=env.correlation_id, causation_id=env.causation_id,
                     data=data if isinstance(data, dict) else {"value": data})
