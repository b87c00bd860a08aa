"""Coordinator leadership: a lease in a NATS KV bucket, taken with create, renewed with compare-and-set.

The bucket's max age is the lease's TTL: a leader that stops renewing (killed, paused, cut off) loses the key
to expiry, and a standby's `create` then succeeds. Each renewal is an update conditional on the revision the
holder last wrote, so two coordinators can never both renew. A leader that cannot renew for a whole TTL
steps down (its writer refuses to append from then on) before a standby can have taken over.
"""

from __future__ import annotations

import asyncio
import logging
import time

from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import BucketNotFoundError, KeyWrongLastSequenceError, NotFoundError
from nats.js.kv import KeyValue

from core.errors import HiveError
from core.settings import Settings
from core.store.transient import TRANSIENT

log = logging.getLogger(__name__)

KEY = "coordinator"


class LeadershipLost(HiveError):
    """This coordinator no longer holds the lease: it must stop deciding (the process exits and restarts)."""


class Lease:
    def __init__(self, js: JetStreamContext, settings: Settings, holder: str) -> None:
        self._js = js
        self._settings = settings
        self.holder = holder
        self.ttl_s = settings.leader_ttl_s
        self._kv: KeyValue | None = None
        self._revision = 0
        # monotonic time of the last successful create or renewal: the lease is ours until + ttl at most.
        self._renewed = 0.0

    async def _bucket(self) -> KeyValue:
        if self._kv is None:
            try:
                self._kv = await self._js.key_value(self._settings.leader_bucket)
            except BucketNotFoundError:
                self._kv = await self._js.create_key_value(KeyValueConfig(
                    bucket=self._settings.leader_bucket, ttl=self.ttl_s, history=1,
                    replicas=self._settings.stream_replicas, storage=StorageType.FILE))
        return self._kv

    def valid(self) -> bool:
        """Ours for certain: renewed less than a TTL ago (by this host's monotonic clock)."""
        return self._revision > 0 and time.monotonic() - self._renewed < self.ttl_s

    async def acquire(self) -> None:
        """Wait until this coordinator holds the lease."""
        waited = False
        while True:
            started = time.monotonic()
            try:
                kv = await self._bucket()
                self._revision = await kv.create(KEY, self.holder.encode())
                self._renewed = started
                log.info("coordinator %s leads (lease revision %d, ttl %.1fs)", self.holder, self._revision,
                         self.ttl_s)
                return
            except KeyWrongLastSequenceError:
                if not waited:
                    log.info("another coordinator leads: %s stands by", self.holder)
                    waited = True
            except TRANSIENT as err:
                log.warning("lease not reachable (%s); trying again", err)
            await asyncio.sleep(self.ttl_s / 4)

    async def hold(self) -> None:
        """Renew every third of the TTL until cancelled; raises LeadershipLost when the lease is gone."""
        while True:
            await asyncio.sleep(self.ttl_s / 3)
            started = time.monotonic()
            try:
                kv = await self._bucket()
                self._revision = await kv.update(KEY, self.holder.encode(), last=self._revision)
                self._renewed = started
            except KeyWrongLastSequenceError as err:
                self._revision = 0
                raise LeadershipLost(f"coordinator {self.holder} lost its lease to another") from err
            except TRANSIENT as err:
                if not self.valid():
                    self._revision = 0
                    raise LeadershipLost(f"coordinator {self.holder} could not renew its lease for "
                                         f"{self.ttl_s:.1f}s ({err})") from err
                log.warning("lease renewal failed (%s); retrying", err)

    async def release(self) -> None:
        """On a clean stop: hand the lease over at once instead of at expiry."""
        if self._kv is None or self._revision == 0:
            return
        try:
            await self._kv.delete(KEY, last=self._revision)
        except (KeyWrongLastSequenceError, NotFoundError, *TRANSIENT) as err:
            log.info("lease not released (%s): it expires within %.1fs", err, self.ttl_s)
        self._revision = 0
