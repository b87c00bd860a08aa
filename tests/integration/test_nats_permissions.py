"""infra/'s NATS users on a real nats-server: an agent reaches only its own subjects, and the real sidecar and
coordinator run a task end to end under their own users."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import msgspec
import nats
import pytest
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError

from agent_sidecar.config import parse_config
from agent_sidecar.consumer import durable_name, ensure_dispatch_consumer
from agent_sidecar.service import Sidecar
from core.coordinator.service import Coordinator
from core.events import new_envelope
from core.events.task import TaskCreated
from core.ids import uuid7
from core.runtime import cancel_and_wait
from core.settings import Settings, load_settings
from core.store.connect import connect
from core.store.event_store import EventStore
from core.store.publisher import Publisher
from core.store.pull_reader import Delivery, PullReader
from core.store.streams import ensure_streams
from tests.helpers import wait_until
from tests.integration.infra_nats import SINGLE, InfraNats, infra_nats

# infra/nats-auth.conf is written for the prefix `hive`; this server is the test's own, so that is safe.
PREFIX = "hive"


@pytest.fixture
def server() -> Iterator[InfraNats]:
    with infra_nats([SINGLE]) as started:
        yield started


def settings_for(server: InfraNats, user: str) -> Settings:
    """A service's settings: its user in the URL; an agent's replies under its own inbox prefix."""
    inbox = f"_INBOX_{user}" if user.startswith("gpu-") else "_INBOX"
    return load_settings({}, nats_url=server.url(user), prefix=PREFIX, nats_inbox_prefix=inbox,
                         heartbeat_interval_s=0.5, jwt_secret="x" * 64)


class Client:
    """A nats-py connection as `user` that records the permission errors the server sends it."""

    def __init__(self, nc: NATS, js: JetStreamContext, errors: list[str]) -> None:
        self.nc, self.js, self.errors = nc, js, errors

    async def refused(self, subject: str) -> None:
        """Wait until the server has said it refused an operation on `subject`."""
        # nats-py lowercases the server's -ERR text.
        await wait_until(lambda: any(f'"{subject.lower()}"' in e.lower() for e in self.errors), timeout=10,
                         what=f"a permissions violation for {subject}")


@asynccontextmanager
async def client(server: InfraNats, user: str, *, ensure: bool = False) -> AsyncIterator[Client]:
    errors: list[str] = []

    async def on_error(err: Exception) -> None:
        errors.append(str(err))

    settings = settings_for(server, user)
    nc = await nats.connect(settings.nats_url, inbox_prefix=settings.nats_inbox_prefix, error_cb=on_error,
                            max_reconnect_attempts=-1, reconnect_time_wait=0.1)
    js = nc.jetstream(timeout=10.0)
    if ensure:
        await ensure_streams(js, settings)
    try:
        yield Client(nc, js, errors)
    finally:
        await nc.close()


async def take_one(reader: PullReader) -> Delivery:
    async with asyncio.timeout(20):
        while not (got := await reader.take(1)):
            pass
    return got[0]


@asynccontextmanager
async def pulling(nc: NATS, settings: Settings, agent_id: str) -> AsyncIterator[PullReader]:
    """The sidecar's own reader of its dispatch consumer."""
    reader = PullReader(nc, settings.dispatch_stream, durable_name(agent_id), want=1,
                        configured_url=settings.nats_url, name=f"test-{agent_id}")
    task = asyncio.create_task(reader.run())
    try:
        yield reader
    finally:
        reader.close()
        await cancel_and_wait(task)


async def test_an_agent_takes_its_own_dispatches_and_sends_its_own_reports_and_heartbeat(server: InfraNats) -> None:
    settings = settings_for(server, "gpu-a")
    async with client(server, "coordinator", ensure=True) as coordinator, client(server, "gpu-a") as agent:
        # As the sidecar starts: streams ensured (a no-op that agents may do), its consumer created or updated.
        await ensure_streams(agent.js, settings)
        await ensure_dispatch_consumer(agent.js, settings, "gpu-a", 2, 30.0)
        await ensure_dispatch_consumer(agent.js, settings, "gpu-a", 2, 30.0)

        await coordinator.js.publish(settings.dispatch_subject("gpu-a"), b"job for a")
        async with pulling(agent.nc, settings, "gpu-a") as reader:
            delivery = await take_one(reader)
            assert (delivery.subject, delivery.data) == ("hive.dispatch.gpu-a", b"job for a")
            await delivery.ack()

        ack = await agent.js.publish(settings.report_subject("gpu-a", "completed"), b"done")
        assert ack.stream == "HIVE_REPORTS"
        publisher = Publisher(agent.nc, configured_url=settings.nats_url)  # the sidecar's own report path
        try:
            wire_ack = await publisher.publish(settings.report_subject("gpu-a", "progress"), b"half",
                                               {"Nats-Msg-Id": "p1"})
            assert wire_ack.stream == "HIVE_REPORTS"
        finally:
            await publisher.close()
        kv = await agent.js.key_value(settings.heartbeat_bucket)
        await kv.put("gpu-a", b"beat")
        await agent.nc.publish("hive.live.task.t1", b"token")
        await agent.nc.flush()

        assert (await (await coordinator.js.key_value(settings.heartbeat_bucket)).get("gpu-a")).value == b"beat"
        info = await coordinator.js.stream_info(settings.reports_stream, subjects_filter="hive.reports.gpu-a.>")
        assert info.state.messages == 2
        await wait_until(lambda: consumer_settled(coordinator.js, "gpu-a"), what="the dispatch acked and removed")
        assert agent.errors == []


def server_refusals(server: InfraNats, user: str) -> set[str]:
    """Subjects the server logged as a publish or subscription violation by `user`."""
    log = (server.servers[0].store_dir / "nats-server.log").read_text()
    return set(re.findall(rf'"HIVE/user:{re.escape(user)}" - \w+ Violation - Subject "([^"]+)"', log))


async def consumer_settled(js: JetStreamContext, agent_id: str) -> bool:
    info = await js.consumer_info("HIVE_DISPATCH", durable_name(agent_id))
    return info.num_pending == 0 and info.num_ack_pending == 0 and info.delivered.stream_seq > 0


async def test_an_agent_cannot_read_or_forge_another_agents_subjects(server: InfraNats) -> None:
    settings_b = settings_for(server, "gpu-b")
    async with client(server, "coordinator", ensure=True) as coordinator, \
            client(server, "gpu-b") as b, client(server, "gpu-a") as a:
        await ensure_dispatch_consumer(b.js, settings_b, "gpu-b", 1, 30.0)
        await coordinator.js.publish("hive.dispatch.gpu-b", b"job for b")

        # Reading B's dispatches: its subject, B's consumer, a consumer of A's own filtered to B, B's replies
        # (where B's pulls deliver), every reply (the default inbox); B's orders from the coordinator.
        for subject in ("hive.dispatch.gpu-b", "hive.dispatch.>", "_INBOX_gpu-b.>", "_INBOX.>", ">",
                        "hive.control.gpu-b"):
            await a.nc.subscribe(subject)
            await a.refused(subject)
        for subject in ("$JS.API.CONSUMER.MSG.NEXT.HIVE_DISPATCH.agent-gpu-b",
                        "$JS.API.CONSUMER.CREATE.HIVE_DISPATCH.agent-gpu-a.hive.dispatch.gpu-b",
                        "$JS.API.CONSUMER.DURABLE.CREATE.HIVE_DISPATCH.agent-gpu-a",
                        "$JS.API.CONSUMER.DELETE.HIVE_DISPATCH.agent-gpu-b",
                        "$JS.API.STREAM.MSG.GET.HIVE_DISPATCH",
                        # Forging: B's reports and heartbeat, an order to B, a dispatch (even its own), an event.
                        "hive.reports.gpu-b.completed", "$KV.hive_heartbeats.gpu-b", "hive.control.gpu-b",
                        "hive.dispatch.gpu-a", "hive.events.task.t1",
                        # Changing or deleting streams.
                        "$JS.API.STREAM.UPDATE.HIVE_DISPATCH", "$JS.API.STREAM.DELETE.HIVE_EVENTS"):
            await a.nc.publish(subject, b'{"batch": 1}', reply=a.nc.new_inbox())
            await a.refused(subject)
        refused_in_log = server_refusals(server, "gpu-a")
        assert {"hive.dispatch.gpu-b", "_INBOX_gpu-b.>", "hive.reports.gpu-b.completed",
                "$KV.hive_heartbeats.gpu-b"} <= refused_in_log

        # The one create subject A may use names its filter, and the server holds the request body to it.
        sneaky = {"stream_name": "HIVE_DISPATCH", "config": {
            "name": "agent-gpu-a", "durable_name": "agent-gpu-a", "filter_subject": "hive.dispatch.gpu-b",
            "ack_policy": "explicit"}}
        reply = await a.nc.request("$JS.API.CONSUMER.CREATE.HIVE_DISPATCH.agent-gpu-a.hive.dispatch.gpu-a",
                                   msgspec.json.encode(sneaky), timeout=10)
        assert "error" in msgspec.json.decode(reply.data)

        # Nothing reached B's subjects, and B's dispatch is still there, undelivered, for B alone.
        await a.nc.flush()
        b_consumer = await coordinator.js.consumer_info("HIVE_DISPATCH", "agent-gpu-b")
        assert (b_consumer.num_pending, b_consumer.num_ack_pending, b_consumer.delivered.stream_seq) == (1, 0, 0)
        reports = await coordinator.js.stream_info("HIVE_REPORTS", subjects_filter="hive.reports.gpu-b.>")
        assert reports.state.messages == 0
        with pytest.raises(KeyNotFoundError):
            await (await coordinator.js.key_value("hive_heartbeats")).get("gpu-b")
        assert (await coordinator.js.stream_info("HIVE_EVENTS")).state.messages == 0
        assert b.errors == []
        async with pulling(b.nc, settings_b, "gpu-b") as reader:
            delivery = await take_one(reader)
            assert delivery.data == b"job for b"
            await delivery.ack()


async def test_an_agent_without_its_inbox_prefix_gets_no_replies(server: InfraNats) -> None:
    """HIVE_NATS_INBOX_PREFIX is required for agents: the default _INBOX is no agent's to read."""
    errors: list[str] = []

    async def on_error(err: Exception) -> None:
        errors.append(str(err))

    async with client(server, "coordinator", ensure=True):
        nc = await nats.connect(server.url("gpu-a"), error_cb=on_error)
        try:
            with pytest.raises(nats.errors.TimeoutError):
                await nc.jetstream(timeout=1.0).stream_info("KV_hive_heartbeats")
            assert any('permissions violation for subscription to "_inbox.' in e.lower() for e in errors)
        finally:
            await nc.close()


async def test_sidecar_and_coordinator_run_a_task_under_their_own_users(server: InfraNats) -> None:
    """The real services with only their users' permissions: any refused operation would stall the task or
    show in the server's log."""
    gateway = settings_for(server, "gateway")
    coordinator_settings = settings_for(server, "coordinator")
    nc, js = await connect(coordinator_settings, "hive-coordinator")
    coordinator = Coordinator(coordinator_settings, nc, js)
    config = parse_config({"agent_id": "gpu-a", "max_concurrency": 2, "capabilities": {"echo": 1.0},
                           "executor": {"type": "command", "argv": ["cat"]}})
    sidecar = Sidecar(settings_for(server, "gpu-a"), config, start_report_delay_s=0.0)
    gnc, gjs = await connect(gateway, "hive-gateway")
    try:
        await coordinator.start()
        await sidecar.start()
        store = EventStore(gnc, gjs, gateway)
        task_id = uuid7()
        await store.append([new_envelope(
            TaskCreated(title="echo", prompt="hello under permissions", capabilities=["echo"]),
            event_id=uuid7(), aggregate_id=task_id, occurred_at=datetime.now(UTC), actor="test")], 0)

        async def completed() -> Any:
            history = await store.load("task", task_id)
            return next((r.envelope for r in history if r.envelope.type == "task.completed.v1"), None)

        done = await wait_until(completed, timeout=30, what="the task completed")
        assert done.data.result.output == "hello under permissions"
        assert [r.envelope.type for r in await store.load("task", task_id)] == [
            "task.created.v1", "task.queued.v1", "task.assigned.v1", "task.started.v1", "task.completed.v1"]
        await sidecar.drain(grace_s=5.0)
    finally:
        with contextlib.suppress(Exception):
            await sidecar.drain(grace_s=0.0)
        await coordinator.stop()
        await nc.close()
        await gnc.close()
    log = (server.servers[0].store_dir / "nats-server.log").read_text()
    assert "Violation" not in log, [line for line in log.splitlines() if "Violation" in line]
