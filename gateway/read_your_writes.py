"""Read-your-writes: a read with `min_seq=N` waits (bounded) until the read models have projected sequence N."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import parse_qsl

import asyncpg
from litestar.types import ASGIApp, Receive, Scope, Send

from gateway.errors import Unavailable, invalid
from projections.projector import CHECKPOINT_NAME

MIN_SEQ = "min_seq"
_FIRST_POLL_S, _MAX_POLL_S = 0.002, 0.05


class ReadModelPosition:
    """The projections' committed checkpoint, as last read; concurrent waiters share one query at a time."""

    def __init__(self, pool: asyncpg.Pool[Any]) -> None:
        self._pool = pool
        self.known = 0
        self._query: asyncio.Task[None] | None = None

    async def _refresh(self) -> None:
        if self._query is None or self._query.done():
            self._query = asyncio.create_task(self._read())
        await asyncio.shield(self._query)

    async def _read(self) -> None:
        seq = await self._pool.fetchval("SELECT seq FROM projection_checkpoints WHERE name = $1", CHECKPOINT_NAME)
        # A rebuild can swap in a schema whose checkpoint is behind; it only ever grows from a reader's view.
        self.known = max(self.known, int(seq or 0))

    async def reached(self, min_seq: int, timeout_s: float) -> bool:
        if min_seq <= self.known:
            return True
        deadline = time.monotonic() + timeout_s
        delay = _FIRST_POLL_S
        while True:
            await self._refresh()
            remaining = deadline - time.monotonic()
            if min_seq <= self.known:
                return True
            if remaining <= 0:
                return False
            await asyncio.sleep(min(delay, remaining))
            delay = min(2 * delay, _MAX_POLL_S)


def min_seq_of(query_string: bytes) -> int | None:
    """The `min_seq` query parameter, or None; a 400 naming it when it is not a non-negative integer."""
    if b"min_seq" not in query_string:  # the usual read pays only this test
        return None
    values = [v for k, v in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True) if k == MIN_SEQ]
    if not values:
        return None
    raw = values[-1]
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        raise invalid(MIN_SEQ, "must be a non-negative integer (a stream sequence from a write's `seq`)")
    return int(raw)


class MinSeqMiddleware:
    """Router middleware after authentication: only a caller allowed to read is ever made to wait."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # OPTIONS passes authentication unchecked (CORS preflight): it must not wait, nor learn the sequences.
        if scope["type"] == "http" and scope["method"] != "OPTIONS":  # type: ignore[typeddict-item]
            min_seq = min_seq_of(scope["query_string"])
            if min_seq is not None:
                services = scope["litestar_app"].state["services"]
                wait_s = services.settings.min_seq_wait_s
                if min_seq > services.read_position.known:
                    # A sequence the log has not reached yet is no write's answer: say so instead of waiting.
                    last = await services.store.stream_last_seq()
                    if min_seq > last:
                        raise invalid(MIN_SEQ, f"the log's last sequence is {last}; pass the `seq` a write answered")
                if not await services.read_position.reached(min_seq, wait_s):
                    raise Unavailable(
                        f"the read models are at sequence {services.read_position.known}, not yet at min_seq "
                        f"{min_seq}, after waiting {wait_s:g} s; retry",
                        headers={"Retry-After": "1"},
                    )
        await self.app(scope, receive, send)
