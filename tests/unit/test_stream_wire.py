"""The reader's bare NATS connection: frames parsed off the socket whole, split anywhere (no server)."""

from __future__ import annotations

import asyncio
from typing import Any, cast
from urllib.parse import urlparse

import pytest

from core.store.wire import Frame, Wire, WireError, _connect_options


class FakeWriter:
    def __init__(self) -> None:
        self.written = b""
        self.writes = 0

    def write(self, data: bytes) -> None:
        self.written += data
        self.writes += 1

    def is_closing(self) -> bool:
        return False


def wire_fed(data: bytes, chunk: int | None = None) -> tuple[Wire, FakeWriter]:
    reader, writer = asyncio.StreamReader(), FakeWriter()
    step = chunk or max(len(data), 1)
    for i in range(0, len(data), step):
        reader.feed_data(data[i:i + step])
    reader.feed_eof()
    return Wire(reader, cast(Any, writer)), writer


async def all_frames(wire: Wire) -> list[Frame]:
    out: list[Frame] = []
    with pytest.raises(WireError, match="closed"):
        while True:
            out += await wire.frames()
    return out


def hmsg(reply: bytes, headers: bytes, payload: bytes) -> bytes:
    sizes = b"%d %d" % (len(headers), len(headers) + len(payload))
    return b"HMSG _INBOX.x 1 " + (reply + b" " if reply else b"") + sizes + b"\r\n" + headers + payload + b"\r\n"


STREAM = (
    b"+OK\r\n"
    + hmsg(b"$JS.ACK.S.C.1.7.1.1700000000.9", b"NATS/1.0\r\nA: b\r\n\r\n", b"hello")
    + b"PING\r\n"
    + b"MSG _INBOX.x 1 $JS.ACK.S.C.1.8.2.1700000000.8 2\r\n{}\r\n"
    + hmsg(b"", b"NATS/1.0 100\r\n\r\n", b"")
    + b'INFO {"server_id":"x"}\r\n'
    + hmsg(b"", b"NATS/1.0 408 Request Timeout\r\n\r\n", b"")
    + b"MSG _INBOX.x 1 5\r\nab\r\nc\r\n"
)
EXPECTED = [
    (b"_INBOX.x", b"$JS.ACK.S.C.1.7.1.1700000000.9", b"NATS/1.0\r\nA: b\r\n\r\n", b"hello"),
    (b"_INBOX.x", b"$JS.ACK.S.C.1.8.2.1700000000.8", b"", b"{}"),
    (b"_INBOX.x", b"", b"NATS/1.0 100\r\n\r\n", b""),
    (b"_INBOX.x", b"", b"NATS/1.0 408 Request Timeout\r\n\r\n", b""),
    (b"_INBOX.x", b"", b"", b"ab\r\nc"),  # a payload may hold CRLF: lengths, not line ends, delimit it
]


async def test_frames_in_order_with_pings_answered() -> None:
    wire, writer = wire_fed(STREAM)
    assert await all_frames(wire) == EXPECTED
    assert writer.written == b"PONG\r\n"


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64])
async def test_frames_split_anywhere_come_out_whole(chunk: int) -> None:
    wire, writer = wire_fed(STREAM, chunk)
    assert await all_frames(wire) == EXPECTED
    assert writer.written == b"PONG\r\n"


async def test_server_error_is_raised() -> None:
    wire, _ = wire_fed(b"-ERR 'Permissions Violation for Subscription to \"x\"'\r\n")
    with pytest.raises(WireError, match="Permissions Violation"):
        await wire.frames()


async def test_publish_and_subscribe_frames() -> None:
    wire, writer = wire_fed(b"")
    wire.subscribe("_INBOX.abc")
    wire.publish("$JS.API.CONSUMER.MSG.NEXT.S.C", b'{"batch":1}', "_INBOX.abc")
    wire.write(b"PUB a 1\r\nx\r\n")
    assert writer.written == b"SUB _INBOX.abc 1\r\n"  # publishes wait for the end of this turn of the loop
    await asyncio.sleep(0)
    assert writer.written == b"SUB _INBOX.abc 1\r\n" + b'PUB $JS.API.CONSUMER.MSG.NEXT.S.C _INBOX.abc 11\r\n{"batch":1}\r\nPUB a 1\r\nx\r\n'
    assert writer.writes == 2  # the subscription, then both publishes in one write


def test_credentials_from_the_url_as_nats_py_takes_them() -> None:
    options = _connect_options(urlparse("nats://u:p%3Aw@h:4222"), "n")
    assert (options["user"], options["pass"]) == ("u", "p%3Aw")  # as given: nats-py does not decode them
    assert _connect_options(urlparse("nats://s3cret@h:4222"), "n")["auth_token"] == "s3cret"
    plain = _connect_options(urlparse("nats://h:4222"), "n")
    assert "user" not in plain and "auth_token" not in plain and plain["headers"] is True
