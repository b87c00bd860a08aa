"""The leader lease against a real JetStream whose KV stream stops answering, as it does for a moment while a
cluster elects a new stream leader: renewals and the release treat that as transient, not as a crash."""

from __future__ import annotations

import asyncio

import pytest

from core.coordinator.lease import Lease, LeadershipLost
from core.settings import Settings
from core.store.connect import connect


async def test_a_lease_whose_stream_stops_answering_steps_down_after_its_ttl_and_releases_quietly(
        settings: Settings) -> None:
    nc, js = await connect(settings, "lease-test", ensure=False)
    try:
        lease = Lease(js, settings, holder="test-holder")
        await lease.acquire()
        assert lease.valid()
        # With the bucket's stream gone, a KV write gets no responders: nats-py raises NoStreamResponseError,
        # which before was not counted as transient, so hold() and release() raised it and the coordinator died.
        await js.delete_stream(f"KV_{settings.leader_bucket}")
        with pytest.raises(LeadershipLost, match="could not renew"):
            await asyncio.wait_for(lease.hold(), timeout=30 * settings.leader_ttl_s)
        assert not lease.valid()

        again = Lease(js, settings, holder="second-holder")
        await again.acquire()  # the bucket is created again
        await js.delete_stream(f"KV_{settings.leader_bucket}")
        await again.release()  # must not raise: the lease expires on its own
        assert not again.valid()
    finally:
        await nc.close()
