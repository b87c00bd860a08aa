"""The credit-based pull reader against a real nats-server: never more than asked, acks, drain, loss, restart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import nats.errors
import pytest
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig

from core.runtime import cancel_and_wait
from core.settings import Settings
from core.store.connect import connect
from core.store.pull_reader import ConsumerGone, Delivery, PullReader
from core.store.streams import ensure_streams
from tests.helpers import wait_until
from tests.integration.own_nats import own_nats

DURABLE = "reader-test"


async def add_consumer(js: JetStreamContext, settings: Settings) -> None:
    await js.add_consumer(settings.dispatch_stream, ConsumerConfig(
        durable_name=DURABLE, filter_subject=settings.dispatch_subject("a1"), ack_policy=AckPolicy.EXPLICIT,
        ack_wait=30.0))


@asynccontextmanager
async def running(reader: PullReader) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(reader.run())
    try:
        yield task
    finally:
        await cancel_and_wait(task)


async def take_n(reader: PullReader, n: int) -> list[Delivery]:
    out: list[Delivery] = []
    async with asyncio.timeout(20):
        while len(out) < n:
            out += await reader.take(n - len(out))
    return out


@pytest.fixture
async def stream(settings: Settings) -> AsyncIterator[tuple[NATS, JetStreamContext]]:
    nc, js = await connect(settings, "pull-reader-test")
    await add_consumer(js, settings)
    yield nc, js
    await nc.close()


async def test_never_more_outstanding_than_wanted_and_acks_remove_work(
    settings: Settings, stream: tuple[NATS, JetStreamContext]
) -> None:
    nc, js = stream
    for i in range(5):
        await js.publish(settings.dispatch_subject("a1"), f"m{i}".encode())
    reader = PullReader(nc, settings.dispatch_stream, DURABLE, want=2, configured_url=settings.nats_url)
    async with running(reader):
        first = await take_n(reader, 2)
        assert [d.data for d in first] == [b"m0", b"m1"]
        info = await js.consumer_info(settings.dispatch_stream, DURABLE)
        assert info.num_ack_pending == 2 and info.num_pending == 3  # the rest stays on the server
        for d in first:
            await d.ack()
        reader.want(3)
        rest = await take_n(reader, 3)
        assert [d.data for d in rest] == [b"m2", b"m3", b"m4"]
        await rest[0].ack()
        await rest[1].nak()  # handed back: delivered again
        await rest[2].term()
        reader.want(1)  # taken messages no longer count: the owner asks again
        again = await take_n(reader, 1)
        assert again[0].data == b"m3" and again[0].subject == settings.dispatch_subject("a1")
        await again[0].ack()
        await wait_until(lambda: stream_empty(js, settings), what="acked and terminated work removed")


async def stream_empty(js: JetStreamContext, settings: Settings) -> bool:
    return (await js.stream_info(settings.dispatch_stream)).state.messages == 0


async def test_quiesce_leaves_no_pull_open_and_acks_after_close_still_count(
    settings: Settings, stream: tuple[NATS, JetStreamContext]
) -> None:
    nc, js = stream
    reader = PullReader(nc, settings.dispatch_stream, DURABLE, want=4, configured_url=settings.nats_url,
                        expires_s=0.5, heartbeat_s=0.2)
    async with running(reader) as task:
        await wait_until(lambda: waiting_pulls(js, settings), what="a pull open on the server")
        await js.publish(settings.dispatch_subject("a1"), b"late")
        await reader.quiesce(5.0)
        assert (await js.consumer_info(settings.dispatch_stream, DURABLE)).num_waiting == 0
        reader.close()
        late = await reader.take()
        assert [d.data for d in late] == [b"late"]
    assert task.done()
    await late[0].ack()  # the reader's connection is gone: the ack goes through nats-py's
    await wait_until(lambda: stream_empty(js, settings), what="the ack after close to count")


async def waiting_pulls(js: JetStreamContext, settings: Settings) -> bool:
    return (await js.consumer_info(settings.dispatch_stream, DURABLE)).num_waiting > 0


async def test_a_deleted_consumer_is_reported(settings: Settings, stream: tuple[NATS, JetStreamContext]) -> None:
    nc, js = stream
    reader = PullReader(nc, settings.dispatch_stream, DURABLE, want=1, configured_url=settings.nats_url)
    async with running(reader) as task:
        await wait_until(lambda: waiting_pulls(js, settings), what="a pull open on the server")
        await js.delete_consumer(settings.dispatch_stream, DURABLE)
        with pytest.raises(ConsumerGone):
            async with asyncio.timeout(20):
                await task


async def test_reading_resumes_after_the_server_is_killed_and_restarted() -> None:
    async with own_nats("pulltest") as (server, settings, nc):
        js = nc.jetstream()
        await ensure_streams(js, settings)
        await add_consumer(js, settings)
        reader = PullReader(nc, settings.dispatch_stream, DURABLE, want=1, configured_url=settings.nats_url,
                            expires_s=1.0, heartbeat_s=0.2)
        async with running(reader):
            await js.publish(settings.dispatch_subject("a1"), b"before")
            before = await take_n(reader, 1)
            await before[0].ack()
            await wait_until(lambda: stream_empty(js, settings), what="the ack to reach the server")
            reader.want(1)
            server.kill()
            server.start()
            await wait_until(lambda: nc.is_connected, timeout=20, what="nats-py reconnected")
            await wait_until(lambda: published(js, settings.dispatch_subject("a1"), b"after"), timeout=20,
                             what="JetStream back after the restart")
            after = await take_n(reader, 1)
            assert after[0].data == b"after"


async def published(js: JetStreamContext, subject: str, payload: bytes) -> bool:
    try:
        await js.publish(subject, payload, timeout=1.0, headers={"Nats-Msg-Id": payload.decode()})
    except (nats.errors.TimeoutError, nats.errors.NoRespondersError):
        return False  # JetStream still recovering its streams
    return True


async def test_a_consumer_that_does_not_exist_is_reported(settings: Settings) -> None:
    nc, js = await connect(settings, "pull-reader-missing")
    try:
        reader = PullReader(nc, settings.dispatch_stream, "never-created", want=1, configured_url=settings.nats_url)
        async with running(reader) as task:
            with pytest.raises(ConsumerGone):
                async with asyncio.timeout(20):
                    await task
    finally:
        await nc.close()


async def test_pulls_of_a_broken_connection_do_not_deliver_past_the_credit(
    settings: Settings, stream: tuple[NATS, JetStreamContext]
) -> None:
    nc, js = stream
    reader = PullReader(nc, settings.dispatch_stream, DURABLE, want=2, configured_url=settings.nats_url)
    async with running(reader):
        await wait_until(lambda: waiting_pulls(js, settings), what="a pull open on the server")
        wire = reader._wire
        assert wire is not None
        wire.abort()  # the connection breaks; its pull is still queued on the server for a while
        await wait_until(lambda: reader._wire is not None and reader._wire is not wire, what="a new connection")
        for i in range(4):
            await js.publish(settings.dispatch_subject("a1"), f"m{i}".encode())
        got = await take_n(reader, 2)
        assert [d.data for d in got] == [b"m0", b"m1"]
        info = await js.consumer_info(settings.dispatch_stream, DURABLE)
        # Only what the live connection asked for was handed out; the old pull found no one listening.
        assert info.num_ack_pending == 2 and info.num_pending == 2
