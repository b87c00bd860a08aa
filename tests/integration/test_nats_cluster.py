"""What "acknowledged" means on a cluster: infra/nats-cluster's 3 nodes on loopback, Hive's streams with 3
replicas; killing a node with -9 (the event stream's leader) loses no acknowledged event and appends go on."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import msgspec
import nats.errors
from nats.js import JetStreamContext

from core.errors import ConcurrencyError
from core.events import new_envelope
from core.events.task import TaskCreated
from core.ids import uuid7
from core.settings import Settings, load_settings
from core.store.connect import connect, credentials, server_urls
from core.store.event_store import EventStore
from core.store.streams import ensure_streams
from tests.helpers import wait_until
from tests.integration.infra_nats import CLUSTER, InfraNats, infra_nats
from tests.integration.test_durability import Appender, running, stored_ids

MORE = 2000  # acknowledged appends before each kill, and again after it


def cluster_settings(cluster: InfraNats) -> Settings:
    urls = ",".join(cluster.url("coordinator", node) for node in range(len(cluster.servers)))
    return load_settings({}, nats_url=urls, prefix="hive", stream_replicas=3, jwt_secret="x" * 64)


async def streams_ready(js: JetStreamContext, settings: Settings) -> bool:
    """Creates Hive's R3 streams once the cluster has elected its JetStream meta leader."""
    with contextlib.suppress(Exception):
        await ensure_streams(js, settings)
        return True
    return False


async def leader_node(js: JetStreamContext, settings: Settings) -> int | None:
    """The event stream leader's node number (1-3, from its server_name hive-nats-<n>)."""
    with contextlib.suppress(Exception):
        cluster = (await js.stream_info(settings.events_stream)).cluster
        if cluster is not None and cluster.leader:
            return int(cluster.leader.rsplit("-", 1)[1])
    return None


async def replicas_current(js: JetStreamContext, settings: Settings) -> bool:
    with contextlib.suppress(Exception):
        cluster = (await js.stream_info(settings.events_stream)).cluster
        if cluster is None or cluster.leader is None:
            return False
        replicas = cluster.replicas or []
        return len(replicas) == 2 and all(r.current and not r.offline for r in replicas)
    return False


async def all_readable(js: JetStreamContext, settings: Settings, acked: dict[str, int]) -> dict[str, int]:
    """The acknowledged events not found at their sequence (empty: none lost)."""
    stored = await stored_ids(js, settings, sorted(acked.values()))
    return {event_id: seq for event_id, seq in acked.items() if stored[seq] != event_id}


async def test_killing_a_node_loses_no_acknowledged_event_and_appends_go_on() -> None:
    with infra_nats(CLUSTER) as cluster:
        settings = cluster_settings(cluster)
        nc, js = await connect(settings, "cluster-test", ensure=False)
        try:
            await wait_until(lambda: streams_ready(js, settings), timeout=60, what="R3 streams created")
            info = await js.stream_info(settings.events_stream)
            assert info.config.num_replicas == 3 and info.cluster is not None

            appender = Appender(EventStore(nc, js, settings), keep_going=True)
            for round_ in range(2):
                await wait_until(lambda: replicas_current(js, settings), timeout=60, what="3 current replicas")
                leader = await wait_until(lambda: leader_node(js, settings), timeout=30, what="a leader")
                assert leader is not None
                victim = leader - 1
                async with running(appender):
                    target = len(appender.acked) + MORE
                    await wait_until(lambda: len(appender.acked) >= target, timeout=60, what="appends acknowledged")
                    cluster.servers[victim].kill()  # kill -9 the event stream's leader, appends in flight
                    # A new leader is elected among the two left, and the appends go on.
                    after = len(appender.acked) + MORE
                    await wait_until(lambda: len(appender.acked) >= after, timeout=60,
                                     what=f"appends acknowledged after killing node {victim + 1} (round {round_})")
                new_leader = await wait_until(lambda: leader_node(js, settings), timeout=30, what="a leader")
                assert new_leader != victim + 1
                lost = await all_readable(js, settings, appender.acked)
                assert not lost, f"{len(lost)} acknowledged events lost, e.g. {list(lost.items())[:3]}"
                # Back on its store: it catches up from the others before the next round kills the leader
                # again, so a later round also reads what the rejoined node missed while it was down.
                cluster.servers[victim].start()
            await wait_until(lambda: replicas_current(js, settings), timeout=60, what="3 current replicas")
            assert not await all_readable(js, settings, appender.acked)
            state = (await js.stream_info(settings.events_stream)).state
            assert state.messages >= len(appender.acked)
        finally:
            await nc.close()


async def test_races_and_retries_on_a_replicated_stream_read_as_on_one_node() -> None:
    """A replicated stream words two outcomes differently from one node: a lost race (another append to the
    subject still being replicated) is 10164, not 10071, and our own event's retry while its first try is
    being replicated is 10158, not a duplicate ack. EventStore makes them a ConcurrencyError (decide again)
    and a timeout (retry with the same id), as on one node."""
    with infra_nats(CLUSTER) as cluster:
        settings = cluster_settings(cluster)
        nc, js = await connect(settings, "cluster-race-test", ensure=False)
        try:
            await wait_until(lambda: streams_ready(js, settings), timeout=60, what="R3 streams created")
            store = EventStore(nc, js, settings)
            task_id, now = uuid7(), datetime.now(UTC)
            ours, theirs = (new_envelope(TaskCreated(title=title), event_id=uuid7(), aggregate_id=task_id,
                                         occurred_at=now, actor="test") for title in ("ours", "theirs"))
            first, second = await store.append_many([([ours], 0), ([theirs], 0)])  # pipelined: a race
            assert first == 1 and isinstance(second, ConcurrencyError), second

            again = new_envelope(TaskCreated(title="again"), event_id=uuid7(), aggregate_id=uuid7(),
                                 occurred_at=now, actor="test")
            stored, retry = await store.append_many([([again], 0), ([again], 0)])  # a retry on the first's heels
            assert isinstance(stored, int)
            assert isinstance(retry, int) or isinstance(retry, nats.errors.TimeoutError), retry
            assert await store.append([again], 0) == stored  # the retry, once the first is through
        finally:
            await nc.close()


def test_settings_with_several_servers() -> None:
    """HIVE_NATS_URL lists a cluster's servers comma-separated; all of them get the first one's user."""
    servers = server_urls("nats://coordinator:pw@127.0.0.1:4222, nats://coordinator:pw@127.0.0.1:4223")
    assert servers == ["nats://coordinator:pw@127.0.0.1:4222", "nats://coordinator:pw@127.0.0.1:4223"]
    assert credentials(servers) == {"user": "coordinator", "password": "pw"}
    assert credentials(["nats://s3cret@host:4222"]) == {"token": "s3cret"}
    assert credentials(["nats://host:4222"]) == {}
    assert msgspec.convert({"nats_url": ",".join(servers)}, Settings).nats_url.count(",") == 1
