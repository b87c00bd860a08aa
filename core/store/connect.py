"""Opens a NATS connection that reconnects forever and makes sure the streams exist."""

from __future__ import annotations

import logging

import nats
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from core.settings import Settings
from core.store.streams import ensure_streams

log = logging.getLogger(__name__)


async def connect(settings: Settings, name: str, *, ensure: bool = True) -> tuple[NATS, JetStreamContext]:
    async def on_error(err: Exception) -> None:
        log.warning("nats (%s): %s", name, err)

    nc = await nats.connect(
        settings.nats_url,
        name=name,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        error_cb=on_error,
        inbox_prefix=settings.nats_inbox_prefix,
    )
    js = nc.jetstream(timeout=10.0)
    if ensure:
        await ensure_streams(js, settings)
    return nc, js
