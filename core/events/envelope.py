"""The event envelope (CONTRACT): ids, type tag, aggregate, time, actor, causality, data."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Generic, TypeVar

import msgspec


class EventData(msgspec.Struct, frozen=True, kw_only=True):
    """Base of every event payload; TYPE is its explicit, versioned wire tag."""

    TYPE: ClassVar[str]
    AGGREGATE: ClassVar[str]


E = TypeVar("E", bound=EventData)


class Envelope(msgspec.Struct, Generic[E], frozen=True, kw_only=True):
    """One domain event as stored on `<prefix>.events.<aggregate>.<id>`."""

    event_id: str
    type: str
    aggregate: str
    aggregate_id: str
    occurred_at: datetime
    actor: str
    correlation_id: str | None = None
    causation_id: str | None = None
    data: E


class Recorded(msgspec.Struct, Generic[E], frozen=True):
    """An envelope together with the stream sequence JetStream gave it."""

    seq: int
    envelope: Envelope[E]


def new_envelope(
    data: E,
    *,
    event_id: str,
    aggregate_id: str,
    occurred_at: datetime,
    actor: str,
    correlation_id: str | None = None,
    causation_id: str | None = None,
) -> Envelope[E]:
    """Wrap a payload; the type tag and aggregate come from the payload class."""
    return Envelope(
        event_id=event_id,
        type=data.TYPE,
        aggregate=data.AGGREGATE,
        aggregate_id=aggregate_id,
        occurred_at=occurred_at,
        actor=actor,
        correlation_id=correlation_id,
        causation_id=causation_id,
        data=data,
    )
