"""Low-latency batched pulls: return as soon as anything is there, never wait to fill the batch.

nats-py's `fetch(n, timeout)` waits for all n messages (or the timeout) once it has to linger, so a
lone message can sit for the whole timeout. Here the first pull lingers for one message only, and a
second no-wait probe collects whatever else is already available.
"""

from __future__ import annotations

import asyncio

import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext

# Long enough for the server's no-wait answer to come back over loopback or a LAN, short enough to be free.
_PROBE_S = 0.005


async def fetch_ready(psub: JetStreamContext.PullSubscription, batch: int, timeout: float) -> list[Msg]:
    """Wait up to `timeout` for a first message, then take up to `batch` in all without waiting more."""
    msgs = await fetch_first(psub, timeout)
    if msgs and batch > 1:
        msgs += await fetch_available(psub, batch - 1)
    return msgs


async def fetch_first(psub: JetStreamContext.PullSubscription, timeout: float) -> list[Msg]:
    """One message, waiting up to `timeout` for it; [] if none came."""
    try:
        return await psub.fetch(1, timeout=timeout)
    except (nats.errors.TimeoutError, asyncio.TimeoutError):
        return []


async def fetch_available(psub: JetStreamContext.PullSubscription, batch: int) -> list[Msg]:
    """Up to `batch` messages that are there already, without waiting for more."""
    try:
        return await psub.fetch(batch, timeout=_PROBE_S)
    except (nats.errors.TimeoutError, asyncio.TimeoutError):
        return []
