"""An aggregate's history as the API shows it: each stored event with its stream sequence, paged by cursor."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import msgspec

from core.events.envelope import Envelope, Recorded
from core.store.event_store import EventStore
from gateway.cursor import SeqCursor, decode_cursor, encode_cursor
from gateway.errors import NotFound

# Ids name NATS subjects (`<prefix>.events.<aggregate>.<id>`): only one plain token may reach the event store.
_SUBJECT_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


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


def event_data(env: Envelope[Any]) -> dict[str, Any]:
    data = msgspec.to_builtins(env.data)
    return data if isinstance(data, dict) else {"value": data}


def event_view(rec: Recorded[Any]) -> EventView:
    env = rec.envelope
    return EventView(seq=rec.seq, event_id=env.event_id, type=env.type, occurred_at=env.occurred_at, actor=env.actor,
                     correlation_id=env.correlation_id, causation_id=env.causation_id, data=event_data(env))


def check_subject_id(aggregate: str, aggregate_id: str, pattern: re.Pattern[str] = _SUBJECT_TOKEN) -> None:
    """A 404 for an id that cannot name an aggregate (dots, wildcards, spaces would address other subjects)."""
    if not pattern.match(aggregate_id):
        raise NotFound(f"no {aggregate} with id {aggregate_id!r}")


async def history_page(store: EventStore, aggregate: str, aggregate_id: str, *, limit: int,
                       cursor: str | None) -> EventPage:
    """One page of an aggregate's history from the log, oldest first; a 404 if it has none."""
    after = decode_cursor(cursor, SeqCursor).seq if cursor else 0
    history = await store.load(aggregate, aggregate_id)
    if not history:
        raise NotFound(f"no {aggregate} with id {aggregate_id}")
    rest = [rec for rec in history if rec.seq > after]
    items = [event_view(rec) for rec in rest[:limit]]
    more = len(rest) > limit
    return EventPage(items=items, next_cursor=encode_cursor(SeqCursor(items[-1].seq)) if more else None)
