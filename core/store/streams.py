"""Creates Hive's streams and KV buckets (heartbeats, checkpoints) idempotently: safe from every process at start."""

from __future__ import annotations

from typing import Any

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, KeyValueConfig, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError

from core.settings import Settings
from core.store.checkpoints import checkpoint_bucket_config

HEARTBEAT_TTL_S = 300.0


def stream_configs(settings: Settings) -> list[StreamConfig]:
    p, replicas = settings.prefix, settings.stream_replicas
    return [
        StreamConfig(
            name=settings.events_stream,
            subjects=[f"{p}.events.>"],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            num_replicas=replicas,
            # Kept forever: this is the audit log.
            max_msgs=-1,
            max_bytes=-1,
            max_age=0,
            duplicate_window=120.0,
            allow_direct=True,
            deny_delete=True,
            deny_purge=True,
        ),
        StreamConfig(
            name=settings.dispatch_stream,
            subjects=[f"{p}.dispatch.>"],
            retention=RetentionPolicy.WORK_QUEUE,
            storage=StorageType.FILE,
            num_replicas=replicas,
            duplicate_window=120.0,
            discard=DiscardPolicy.OLD,
        ),
        StreamConfig(
            name=settings.reports_stream,
            subjects=[f"{p}.reports.>"],
            retention=RetentionPolicy.WORK_QUEUE,
            storage=StorageType.FILE,
            num_replicas=replicas,
            duplicate_window=120.0,
        ),
    ]


async def ensure_streams(js: JetStreamContext, settings: Settings) -> None:
    for config in stream_configs(settings):
        try:
            await js.add_stream(config)
        except BadRequestError as err:
            # 10058: a stream with this name but another config exists; bring it to ours.
            if err.err_code != 10058:
                raise
            await js.update_stream(config)
    await js.create_key_value(
        KeyValueConfig(
            bucket=settings.heartbeat_bucket,
            history=1,
            ttl=HEARTBEAT_TTL_S,
            storage=StorageType.FILE,
            replicas=settings.stream_replicas,
        )
    )
    await js.create_key_value(checkpoint_bucket_config(settings))


async def watch_bucket(js: JetStreamContext, bucket: str) -> Any:
    """A watch of every key of a KV bucket (nats-py's watcher; it resets itself when its heartbeats stop)."""
    kv = await js.key_value(bucket)
    return await kv.watchall()
