"""Encoding and decoding of envelopes: one reusable decoder per event type, looked up by tag."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from core.events.agent import AGENT_EVENTS
from core.events.envelope import Envelope, EventData
from core.events.execution import EXECUTION_EVENTS
from core.events.system import SYSTEM_EVENTS
from core.events.task import TASK_EVENTS
from core.events.upcast import UPCASTERS, upcast
from core.events.workflow import WORKFLOW_EVENTS


class UnknownEventType(msgspec.ValidationError):
    """A tag this build does not know (written by a newer version?)."""


class _Wire(msgspec.Struct, frozen=True, kw_only=True):
    event_id: str
    type: str
    aggregate: str
    aggregate_id: str
    occurred_at: datetime
    actor: str
    correlation_id: str | None = None
    causation_id: str | None = None
    data: msgspec.Raw


def _registry(*catalogs: tuple[type[EventData], ...]) -> dict[str, msgspec.json.Decoder[Any]]:
    out: dict[str, msgspec.json.Decoder[Any]] = {}
    for catalog in catalogs:
        for cls in catalog:
            if cls.TYPE in out:
                raise RuntimeError(f"duplicate event tag {cls.TYPE}")
            out[cls.TYPE] = msgspec.json.Decoder(cls)
    return out


DECODERS = _registry(TASK_EVENTS, AGENT_EVENTS, SYSTEM_EVENTS, WORKFLOW_EVENTS, EXECUTION_EVENTS)
# Payload classes by tag: what an upcast event's data is converted into.
CLASSES: dict[str, type[EventData]] = {
    cls.TYPE: cls
    for catalog in (TASK_EVENTS, AGENT_EVENTS, SYSTEM_EVENTS, WORKFLOW_EVENTS, EXECUTION_EVENTS) for cls in catalog
}
_wire_decoder = msgspec.json.Decoder(_Wire)
_encoder = msgspec.json.Encoder()


def encode_envelope(envelope: Envelope[Any]) -> bytes:
    return _encoder.encode(envelope)


def upcast_data(tag: str, raw: bytes) -> tuple[str, EventData] | None:
    """An event of an old version (a tag with an upcaster), as the current version's tag and data; None for a
    tag that is neither current nor upcast to a current one."""
    if tag not in UPCASTERS:
        return None
    new, data = upcast(tag, msgspec.json.decode(raw))
    cls = CLASSES.get(new)
    return None if cls is None else (new, msgspec.convert(data, cls))


def decode_envelope(raw: bytes) -> Envelope[Any]:
    """The envelope and its typed data; an old version is upcast, so the envelope's `type` is the current tag."""
    wire = _wire_decoder.decode(raw)
    decoder = DECODERS.get(wire.type)
    tag = wire.type
    if decoder is not None:
        data = decoder.decode(wire.data)
    elif (upcasted := upcast_data(tag, wire.data)) is not None:
        tag, data = upcasted
    else:
        raise UnknownEventType(f"unknown event type {wire.type!r}")
    return Envelope(
        event_id=wire.event_id,
        type=tag,
        aggregate=wire.aggregate,
        aggregate_id=wire.aggregate_id,
        occurred_at=wire.occurred_at,
        actor=wire.actor,
        correlation_id=wire.correlation_id,
        causation_id=wire.causation_id,
        data=data,
    )
