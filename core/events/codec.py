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
_wire_decoder = msgspec.json.Decoder(_Wire)
_encoder = msgspec.json.Encoder()


def encode_envelope(envelope: Envelope[Any]) -> bytes:
    return _encoder.encode(envelope)


def decode_envelope(raw: bytes) -> Envelope[Any]:
    wire = _wire_decoder.decode(raw)
    decoder = DECODERS.get(wire.type)
    if decoder is None:
        raise UnknownEventType(f"unknown event type {wire.type!r}")
    return Envelope(
        event_id=wire.event_id,
        type=wire.type,
        aggregate=wire.aggregate,
        aggregate_id=wire.aggregate_id,
        occurred_at=wire.occurred_at,
        actor=wire.actor,
        correlation_id=wire.correlation_id,
        causation_id=wire.causation_id,
        data=decoder.decode(wire.data),
    )
