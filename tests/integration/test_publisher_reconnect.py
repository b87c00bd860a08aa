"""The pipelined publisher across a nats-server killed and restarted: outstanding acks fail, publishing resumes."""

from __future__ import annotations

import asyncio

import nats
import nats.errors
import pytest

from core.settings import Settings
from core.store.publisher import AckLost, Publisher
from core.store.streams import ensure_streams
from tests.helpers import wait_until
from tests.integration.own_nats import own_nats


async def test_acks_outstanding_when_the_server_dies_fail_and_publishing_resumes_after_restart() -> None:
    async with own_nats("pubtest") as (server, settings, nc):
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


class FreezableProxy:
    """A TCP relay to a nats-server that can stop relaying while keeping its connections open: the
    half-open connection a peer that vanished without a reset leaves behind."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.frozen = False
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._relay_pair, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _relay_pair(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer),
                             return_exceptions=True)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                if not self.frozen:  # frozen: bytes vanish, nobody is told
                    writer.write(data)
                    await writer.drain()
        finally:
            writer.close()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()


async def test_a_connection_that_stops_answering_is_dropped_and_replaced(settings: Settings) -> None:
    port = int(settings.nats_url.rsplit(":", 1)[1])
    proxy = FreezableProxy(port)
    url = f"nats://127.0.0.1:{await proxy.start()}"
    nc = await nats.connect(url)
    publisher = Publisher(nc, timeout_s=1.0)
    try:
        await ensure_streams(nc.jetstream(), settings)
        subject = settings.event_subject("task", "frozen")
        assert (await publisher.publish(subject, b"{}")).seq > 0
        proxy.frozen = True
        # Enough unsent data that the socket's buffers fill: every publish still ends (a timeout or a
        # lost ack), none hangs on a connection that can neither send nor close gracefully.
        futures = [await publisher.submit(subject, b"x" * 60_000) for _ in range(300)]
        async with asyncio.timeout(30):  # a hang detector, not a speed limit
            outcomes = await asyncio.gather(*futures, return_exceptions=True)
        assert all(isinstance(o, nats.errors.TimeoutError) for o in outcomes)
        # While the server does not answer, a new publish gives up after its timeout too.
        with pytest.raises(nats.errors.TimeoutError):
            await publisher.publish(subject, b"{}", {"Nats-Msg-Id": "while-frozen"})
        # The publisher gave up on that connection rather than waiting for TCP to notice.
        await wait_until(lambda: publisher._wire is None, what="the silent connection dropped")
        proxy.frozen = False
        ack = await publisher.publish(subject, b"{}", {"Nats-Msg-Id": "after-thaw"})
        assert ack.seq > 0 and not ack.duplicate
    finally:
        await publisher.close()
        await nc.close()
        await proxy.stop()
