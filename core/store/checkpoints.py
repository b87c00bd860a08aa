"""Projection checkpoints mirrored to a NATS KV bucket, so services without PostgreSQL can see projection lag.

The projections service puts its committed checkpoint under its projection's name in the bucket
`<prefix>_checkpoints` (at most once a second, and only when it moved); the coordinator watches the bucket
and measures lag as the events stream's last sequence minus that checkpoint. Entries never expire: a
projections service that stops leaves its last checkpoint behind, and the lag it leaves grows.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

import msgspec
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType

from core.settings import Settings

log = logging.getLogger(__name__)

PUBLISH_INTERVAL_S = 1.0


class ProjectionCheckpoint(msgspec.Struct, frozen=True, kw_only=True):
    seq: int
    at: datetime


checkpoint_encoder = msgspec.json.Encoder()
checkpoint_decoder = msgspec.json.Decoder(ProjectionCheckpoint)


def checkpoint_bucket(settings: Settings) -> str:
    return f"{settings.prefix}_checkpoints"


def checkpoint_bucket_config(settings: Settings) -> KeyValueConfig:
    return KeyValueConfig(bucket=checkpoint_bucket(settings), history=1, storage=StorageType.FILE,
                          replicas=settings.stream_replicas)


async def publish_checkpoints(js: JetStreamContext, settings: Settings, name: str, current: Callable[[], int],
                              interval_s: float = PUBLISH_INTERVAL_S) -> None:
    """Until cancelled: put `current()` under `name` whenever it has moved (a failed put is tried again)."""
    kv = await js.key_value(checkpoint_bucket(settings))
    published = 0
    while True:
        seq = current()
        if seq != published:
            try:
                await kv.put(name, checkpoint_encoder.encode(ProjectionCheckpoint(seq=seq, at=datetime.now(UTC))))
                published = seq
            except Exception as err:  # NATS away for a moment: the next round puts the newer value
                log.warning("could not publish checkpoint %s=%d: %s", name, seq, err)
        await asyncio.sleep(interval_s)
