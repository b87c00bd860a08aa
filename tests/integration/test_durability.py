"""What "acknowledged" means on one node: infra/nats-server.conf's nats-server killed with -9 while appends
are in flight, restarted on the same store, still has every event it acknowledged (default sync_interval,
where the ack follows the write to the OS, and `always`, where it follows an fsync)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest
from nats.aio.client import Client as NATS
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import PersistMode
from nats.js.errors import NotFoundError, ServiceUnavailableError

from core.events import new_envelope
from core.events.task import TaskCreated
from core.ids import uuid7
from core.runtime import cancel_and_wait
from core.settings import Settings, load_settings
from core.store.connect import connect
from core.store.event_store import EventStore
from core.store.streams import stream_configs
from tests.helpers import wait_until
from tests.integration.infra_nats import SINGLE, infra_nats

BATCH = 200  # events appended together (pipelined), each to a new aggregate
BEFORE_KILL = 3000  # acknowledged events before the kill; appends keep going until it


class Appender:
    """Appends batches of events until stopped (or, unless `keep_going`, until one fails), remembering every
    acknowledged one's sequence. A failed event is left unknown: it may or may not have been stored."""

    def __init__(self, store: EventStore, *, keep_going: bool = False) -> None:
        self.store = store
        self.keep_going = keep_going
        self.acked: dict[str, int] = {}  # event id -> stream sequence
        self.failed: list[BaseException] = []

    async def run(self) -> None:
        while self.keep_going or not self.failed:
            now = datetime.now(UTC)
            envelopes = [new_envelope(TaskCreated(title=f"durable {i}"), event_id=uuid7(), aggregate_id=uuid7(),
                                      occurred_at=now, actor="test") for i in range(BATCH)]
            results = await self.store.append_many([([e], 0) for e in envelopes])
            for envelope, result in zip(envelopes, results, strict=True):
                if isinstance(result, int):
                    self.acked[envelope.event_id] = result
                elif len(self.failed) < 1000:
                    self.failed.append(result)


@asynccontextmanager
async def running(appender: Appender) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(appender.run())
    try:
        yield task
    finally:
        await cancel_and_wait(task)


async def stored_ids(js: JetStreamContext, settings: Settings, seqs: list[int]) -> dict[int, str | None]:
    """The Nats-Msg-Id (the event id) stored at each sequence; None where the server says nothing is. Other
    errors (a timeout while a cluster elects a leader) are retried until a deadline."""
    out: dict[int, str | None] = {}

    async def get(seq: int) -> bool:
        try:
            msg = await js.get_msg(settings.events_stream, seq)
        except NotFoundError:
            out[seq] = None
            return True
        except (NatsTimeoutError, ServiceUnavailableError, NoRespondersError):
            return False
        out[seq] = (msg.headers or {}).get("Nats-Msg-Id")
        return True

    for seq in seqs:
        await wait_until(lambda: get(seq), timeout=30, what=f"the server to answer for seq {seq}")
    return out


async def stream_answers(js: JetStreamContext, settings: Settings) -> bool:
    with contextlib.suppress(Exception):
        await js.stream_info(settings.events_stream)
        return True
    return False


@pytest.mark.parametrize("sync_always", [False, True], ids=["sync_interval-2m", "sync_interval-always"])
async def test_acknowledged_events_survive_kill_9_of_the_server(sync_always: bool) -> None:
    with infra_nats([SINGLE], sync_always=sync_always) as server:
        node = server.servers[0]
        settings = load_settings({}, nats_url=server.url("coordinator"), prefix="hive", jwt_secret="x" * 64)
        nc: NATS
        nc, js = await connect(settings, "durability-test")
        try:
            appender = Appender(EventStore(nc, js, settings))
            async with running(appender) as task:
                await wait_until(lambda: len(appender.acked) >= BEFORE_KILL or task.done(), timeout=60,
                                 what=f"{BEFORE_KILL} acknowledged appends")
                assert not appender.failed, appender.failed[:3]
                node.kill()  # kill -9, with a batch of appends on the wire
                await wait_until(lambda: appender.failed or task.done(), timeout=60, what="appends failing")
            acked = dict(appender.acked)
            node.start()  # same port, same store
            await wait_until(lambda: stream_answers(js, settings), timeout=60, what="the restarted server")

            stored = await stored_ids(js, settings, sorted(acked.values()))
            lost = {event_id: seq for event_id, seq in acked.items() if stored[seq] != event_id}
            assert not lost, f"{len(lost)} of {len(acked)} acknowledged events lost, e.g. {list(lost.items())[:3]}"
            state = (await js.stream_info(settings.events_stream)).state
            assert state.last_seq >= max(acked.values()) and state.messages >= len(acked)
        finally:
            await nc.close()


def test_hives_streams_keep_the_ack_after_the_write() -> None:
    """persist_mode async (nats-server 2.12+, one replica only) would send acks before the write: a process
    crash could then lose acknowledged events. Hive's streams leave it at the default."""
    for config in stream_configs(load_settings({})):
        assert config.persist_mode in (None, PersistMode.DEFAULT), config.name
