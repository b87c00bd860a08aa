"""The reader's bare NATS connection against a real nats-server: credentials from the URL, messages out whole."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from core.dev.embedded_nats import EmbeddedNats
from projections.wire import Wire, WireError


@pytest.fixture(scope="module")
def locked_nats() -> Iterator[int]:
    """A nats-server that wants a user and password."""
    server = EmbeddedNats(Path(tempfile.mkdtemp(prefix="hive-nats-auth-")), extra_args=["--user", "u", "--pass", "p w"])
    server.start()
    yield server.port
    server.stop()


async def test_messages_round_trip_with_and_without_headers(nats_url: str) -> None:
    wire = await Wire.open(urlparse(nats_url), "test")
    try:
        wire.subscribe("hive.test.wire")
        wire.publish("hive.test.wire", b"one", "reply.to")
        wire.publish("hive.test.wire", b"x" * 300_000, "reply.to")  # larger than one socket read
        frames = []
        while len(frames) < 2:
            frames += await wire.frames()
        assert frames == [(b"reply.to", b"", b"one"), (b"reply.to", b"", b"x" * 300_000)]
    finally:
        await wire.close()


async def test_user_and_password_from_the_url(locked_nats: int) -> None:
    wire = await Wire.open(urlparse(f"nats://u:p%20w@127.0.0.1:{locked_nats}"), "test")
    try:
        wire.subscribe("a")
        wire.publish("a", b"hi", "r")
        assert await wire.frames() == [(b"r", b"", b"hi")]
    finally:
        await wire.close()
    with pytest.raises(WireError, match="Authorization Violation"):
        await Wire.open(urlparse(f"nats://u:wrong@127.0.0.1:{locked_nats}"), "test")
