"""Stored events by stream sequence, as raw JSON: what the audit index points at, exactly as the log holds it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import nats.errors
import orjson
from nats.aio.client import Client as NATS

from core.settings import Settings

GET_TIMEOUT_S = 5.0


async def stored_data(nc: NATS, settings: Settings, seqs: Sequence[int]) -> dict[int, dict[str, Any] | None]:
    """seq -> the stored event's `data` object, or None where the log no longer holds that sequence (deleted,
    or past a retention limit). The direct gets are all in flight at once: a page costs about one round trip."""
    subject = f"$JS.API.DIRECT.GET.{settings.events_stream}"

    async def one(seq: int) -> dict[str, Any] | None:
        try:
            msg = await nc.request(subject, orjson.dumps({"seq": seq}), timeout=GET_TIMEOUT_S)
        except nats.errors.NoRespondersError:
            return None
        if not msg.data:  # a status answer: 404 when the sequence is gone
            return None
        data = orjson.loads(msg.data).get("data")
        return data if isinstance(data, dict) else {"value": data}

    values = await asyncio.gather(*(one(seq) for seq in seqs))
    return dict(zip(seqs, values, strict=True))
