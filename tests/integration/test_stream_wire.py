"""The reader's bare NATS connection against a real nats-server: credentials from the URL, messages out whole."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from core.dev.embedded_nats import EmbeddedNats
from core.settings import load_settings
from core.store.connect import connect
from core.store.event_store import EventStore
from projections.service import running_projector
from core.store.wire import Wire, WireError
from tests.helpers import wait_until
from tests.integration.test_projection_lifecycle import append_many_tasks


@pytest.fixture(scope="module")
def locked_nats() -> Iterator[int]:
    """A nats-server that wants a user and password."""
    server = EmbeddedNats(Path(tempfile.mkdtemp(prefix="hive-nats-auth-")), extra_args=["--user", "u", "--pass", "pw"])
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
        assert frames == [(b"hive.test.wire", b"reply.to", b"", b"one"), (b"hive.test.wire", b"reply.to", b"", b"x" * 300_000)]
    finally:
        await wire.close()


async def test_user_and_password_from_the_url(locked_nats: int) -> None:
    wire = await Wire.open(urlparse(f"nats://u:pw@127.0.0.1:{locked_nats}"), "test")
    try:
        wire.subscribe("a")
        wire.publish("a", b"hi", "r")
        assert await wire.frames() == [(b"a", b"r", b"", b"hi")]
    finally:
        await wire.close()
    with pytest.raises(WireError, match="Authorization Violation"):
        await Wire.open(urlparse(f"nats://u:wrong@127.0.0.1:{locked_nats}"), "test")


async def test_credentials_from_the_configured_url_for_a_server_found_through_the_cluster(locked_nats: int) -> None:
    discovered = urlparse(f"nats://127.0.0.1:{locked_nats}")  # how nats-py lists a server it was told about
    wire = await Wire.open(discovered, "test", credentials=urlparse("nats://u:pw@elsewhere:4222"))
    await wire.close()


async def test_projection_on_a_server_that_wants_credentials(locked_nats: int, database_url: str) -> None:
    settings = load_settings(
        {}, nats_url=f"nats://u:pw@127.0.0.1:{locked_nats}", database_url=database_url,
        prefix=f"t{uuid.uuid4().hex[:10]}", db_schema=f"t_{uuid.uuid4().hex[:10]}",
    )
    nc, js = await connect(settings, "test")
    store = EventStore(nc, js, settings)
    last = await append_many_tasks(store, 0, 5)
    async with running_projector(settings) as projector:
        await wait_until(lambda: projector.checkpoint >= last, what="projected through the locked server")
    await nc.close()
