"""The pipelined publisher across a nats-server killed and restarted: outstanding acks fail, publishing resumes."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

import nats
import nats.errors
import pytest

from core.dev.embedded_nats import EmbeddedNats
from core.settings import Settings, load_settings
from core.store.publisher import AckLost, Publisher
from core.store.streams import ensure_streams
from tests.helpers import wait_until


async def test_acks_outstanding_when_the_server_dies_fail_and_publishing_resumes_after_restart() -> None:
    home = Path(tempfile.mkdtemp(prefix="hive-pub-"))
    server = EmbeddedNats(home / "nats")
    url = server.start()
    settings = load_settings({}, nats_url=url, prefix="pubtest", jwt_secret="x" * 64)
    nc = await nats.connect(url, max_reconnect_attempts=-1, reconnect_time_wait=0.1)
    publisher = Publisher(nc, timeout_s=2.0)
    try:
        await ensure_streams(nc.jetstream(), settings)
        subject = settings.event_subject("task", "t1")
        assert (await publisher.publish(subject, b"{}")).seq == 1

        server.kill()
        # Acks that can no longer come fail (AckLost, or a timeout if the loss is noticed late) rather
        # than hang; the write itself is not an error, as the server may have stored the message.
        future = await publisher.submit(subject, b"{}")
        with pytest.raises(nats.errors.TimeoutError):
            await future
        # With the server away, a publish gives up after its timeout instead of buffering forever.
        with pytest.raises(nats.errors.TimeoutError):
            await publisher.publish(subject, b"{}")

        server.start()
        await wait_until(lambda: nc.is_connected, timeout=20)
        ack = await publisher.publish(subject, b"{}", {"Nats-Msg-Id": "after-restart"})
        assert ack.stream == settings.events_stream and ack.seq >= 2
        again = await publisher.publish(subject, b"{}", {"Nats-Msg-Id": "after-restart"})
        assert again.duplicate and again.seq == ack.seq
    finally:
        await publisher.close()
        await nc.close()
        server.stop()
        shutil.rmtree(home, ignore_errors=True)


async def test_a_payload_over_the_server_limit_is_refused_before_it_is_sent(settings: Settings) -> None:
    nc = await nats.connect(settings.nats_url)
    publisher = Publisher(nc)
    try:
        await ensure_streams(nc.jetstream(), settings)
        with pytest.raises(nats.errors.MaxPayloadError):
            await publisher.publish(settings.event_subject("task", "big"), b"x" * (8 << 20))
        # The connection survived (an oversized PUB would have made the server close it).
        assert (await publisher.publish(settings.event_subject("task", "small"), b"{}")).seq > 0
    finally:
        await publisher.close()
        await nc.close()


def test_ack_lost_is_a_timeout_for_callers_that_retry() -> None:
    assert issubclass(AckLost, nats.errors.TimeoutError) and issubclass(AckLost, asyncio.TimeoutError)
