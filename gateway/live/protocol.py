"""The WebSocket message protocol: `{id, type, topic?, data?, timestamp}` in both directions, as JSON text."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import msgspec
import orjson

from gateway.errors import from_msgspec

ID_MAX = 128
TOPIC_MAX = 300


class Inbound(msgspec.Struct, frozen=True, kw_only=True):
    """A client's message; `timestamp` and unknown fields are accepted and ignored."""

    type: Literal["subscribe", "unsubscribe", "ping", "pong"]
    id: Annotated[str, msgspec.Meta(max_length=ID_MAX)] = ""
    topic: Annotated[str, msgspec.Meta(max_length=TOPIC_MAX)] | None = None
    data: Any = None


class SubscribeOptions(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """`data` of a subscribe: resume after the last stream sequence the client saw (omit for live only)."""

    after_seq: Annotated[int, msgspec.Meta(ge=0)] | None = None


_inbound = msgspec.json.Decoder(Inbound)


class ProtocolError(ValueError):
    """A message the server cannot act on; `field` is the path of the offending field, if any."""

    def __init__(self, detail: str, field: str | None = None, status: int = 400) -> None:
        super().__init__(detail)
        self.detail, self.field, self.status = detail, field, status


def _invalid(err: msgspec.ValidationError, within: str = "") -> ProtocolError:
    """The API's field-path reading of a msgspec error, with paths relative to the message (`data.after_seq`)."""
    field = from_msgspec(err).errors[0]
    path = field.field.removeprefix("$").lstrip(".")
    return ProtocolError(field.message, ".".join(p for p in (within, path) if p) or None)


def decode_inbound(raw: str | bytes) -> Inbound:
    try:
        return _inbound.decode(raw)
    except msgspec.ValidationError as err:
        raise _invalid(err) from err
    except msgspec.DecodeError as err:
        raise ProtocolError(f"not a JSON object: {err}") from err


def subscribe_options(data: Any) -> SubscribeOptions:
    if data is None:
        return SubscribeOptions()
    try:
        return msgspec.convert(data, SubscribeOptions)
    except msgspec.ValidationError as err:
        raise _invalid(err, "data") from err


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def message(type_: str, *, id: str = "", topic: str | None = None, data: Any = None) -> str:
    """A control message (reply, error, pong, snapshot) as JSON text."""
    out: dict[str, Any] = {"id": id, "type": type_}
    if topic is not None:
        out["topic"] = topic
    if data is not None:
        out["data"] = data
    out["timestamp"] = now_iso()
    return orjson.dumps(out).decode()


def error_message(err: ProtocolError, *, id: str = "", topic: str | None = None) -> str:
    data: dict[str, Any] = {"status": err.status, "detail": err.detail}
    if err.field:
        data["field"] = err.field
    return message("error", id=id, topic=topic, data=data)


def event_message(seq: int, topic: str, event: bytes, timestamp: str) -> str:
    """A stored event as a data message, built around the event's JSON as stored (no re-encoding)."""
    # The topic is quoted by orjson: it holds an id that came from a client or an agent.
    return '{"id":"%d","type":"data","topic":%s,"seq":%d,"timestamp":"%s","data":%s}' % (
        seq, orjson.dumps(topic).decode(), seq, timestamp, event.decode())
