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
    try:
        msgs = await psub.fetch(1, timeout=timeout)
    except (nats.errors.TimeoutError, asyncio.TimeoutError):
        return []
    if batch > 1:
        try:
            msgs += await psub.fetch(batch - 1, timeout=_PROBE_S)
        except (nats.errors.TimeoutError, asyncio.TimeoutError):
            pass
    return msgs
