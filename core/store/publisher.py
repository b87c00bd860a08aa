"""Pipelined JetStream publishing: many publishes in flight, one reply subscription, one future per message.

nats-py's `js.publish` is a request per message (a fresh future, `wait_for`, its own flush), which caps
a Python process at a few thousand acknowledged publishes a second. Here a caller can put hundreds of
messages on the wire before the first ack comes back; acks are matched to futures by reply token. The
window is bounded, so a slow server applies backpressure instead of growing memory.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from collections.abc import Mapping
from typing import Any

import msgspec
import nats.errors
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js.api import PubAck
from nats.js.errors import APIError, ServiceUnavailableError

DEFAULT_WINDOW = 4096
DEFAULT_TIMEOUT_S = 5.0


class _AckError(msgspec.Struct):
    code: int = 0
    err_code: int = 0
    description: str = ""


class _Ack(msgspec.Struct):
    stream: str = ""
    seq: int = 0
    duplicate: bool = False
    error: _AckError | None = None


_ack_decoder = msgspec.json.Decoder(_Ack)
_SWEEP_S = 0.25


def header_block(headers: Mapping[str, str]) -> str | None:
    """NATS headers in wire form, or None when a value would need nats-py's escaping (a line break).

    Header names are the caller's constants (tokens without ':' or spaces)."""
    text = "NATS/1.0\r\n" + "".join([f"{k}: {v}\r\n" for k, v in headers.items()]) + "\r\n"
    return text if text.count("\n") == len(headers) + 2 else None


def _hpub(subject: str, reply: str, block: str, payload: bytes) -> bytes:
    hdr = block.encode()
    return b"HPUB %s %s %d %d\r\n%s%s\r\n" % (
        subject.encode(), reply.encode(), len(hdr), len(hdr) + len(payload), hdr, payload)


def _result(msg: Msg) -> PubAck | BaseException:
    if not msg.data:
        status = (msg.headers or {}).get("Status", "")
        if status == "503":
            return nats.errors.NoRespondersError()
        return ServiceUnavailableError(code=int(status or 0), description="empty reply to a JetStream publish")
    try:
        ack = _ack_decoder.decode(msg.data)
    except msgspec.DecodeError as err:
        return APIError(description=f"unreadable publish ack: {err}")
    if ack.error is not None:
        e = ack.error
        return APIError(code=e.code, err_code=e.err_code, description=e.description)
    return PubAck(stream=ack.stream, seq=ack.seq, duplicate=ack.duplicate or None)


def _parse_block(block: str) -> dict[str, str]:
    lines = block.split("\r\n")[1:]
    return dict(line.split(": ", 1) for line in lines if line)


class Publisher:
    """`await publish(...)` returns the PubAck (or raises like js.publish); many may be awaited at once."""

    def __init__(self, nc: NATS, *, window: int = DEFAULT_WINDOW, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self._nc = nc
        self._timeout_s = timeout_s
        # At most `window` acks outstanding; publishers past that wait on `_room` (no semaphore per message).
        self._window = window
        self._room: asyncio.Future[None] | None = None
        self._waiting: dict[str, asyncio.Future[PubAck]] = {}
        # Timeouts are all equal, so deadlines arrive in order: one sweeper instead of a timer per message.
        self._deadlines: deque[tuple[float, str]] = deque()
        self._sweeper: asyncio.Task[None] | None = None
        self._tokens = itertools.count()
        # Writing the protocol line ourselves skips nats-py's per-header regex checks (a third of the
        # cost of a publish); anything unusual goes through nc.publish.
        self._fast = hasattr(nc, "_send_command") and hasattr(nc, "_flush_queue") and hasattr(nc, "_flush_pending")
        self._prefix = ""
        self._sub: Subscription | None = None
        self._starting: asyncio.Lock = asyncio.Lock()

    async def _start(self) -> None:
        async with self._starting:
            if self._sub is None:
                self._prefix = self._nc.new_inbox() + "."
                self._sub = await self._nc.subscribe(self._prefix + "*", cb=self._on_ack,
                                                     pending_msgs_limit=-1, pending_bytes_limit=-1)
                self._sweeper = asyncio.create_task(self._sweep(), name="publisher-timeouts")

    def _made_room(self) -> None:
        if self._room is not None and len(self._waiting) < self._window:
            self._room.set_result(None)
            self._room = None

    async def _on_ack(self, msg: Msg) -> None:
        future = self._waiting.pop(msg.subject[len(self._prefix):], None)
        self._made_room()
        if future is None or future.done():
            return  # timed out already
        result = _result(msg)
        if isinstance(result, BaseException):
            future.set_exception(result)
        else:
            future.set_result(result)

    async def _sweep(self) -> None:
        deadlines, waiting = self._deadlines, self._waiting
        while True:
            await asyncio.sleep(_SWEEP_S)
            now = time.monotonic()
            while deadlines and deadlines[0][0] <= now:
                future = waiting.pop(deadlines.popleft()[1], None)
                if future is not None and not future.done():
                    future.set_exception(nats.errors.TimeoutError())
            self._made_room()

    async def publish(self, subject: str, payload: bytes, headers: Mapping[str, str] | None = None) -> PubAck:
        future = await self.submit(subject, payload, headers)
        return await future

    async def submit(
        self, subject: str, payload: bytes, headers: Mapping[str, str] | None = None, *, block: str | None = None
    ) -> asyncio.Future[PubAck]:
        """Put the message on the wire and return the future of its ack (so a caller can send a batch first).

        `block` is the headers already in wire form (see `header_block`), for callers on a hot path."""
        if self._sub is None:
            await self._start()
        while len(self._waiting) >= self._window:
            if self._room is None:
                self._room = asyncio.get_running_loop().create_future()
            await self._room
        token = str(next(self._tokens))
        future: asyncio.Future[PubAck] = asyncio.get_running_loop().create_future()
        self._waiting[token] = future
        self._deadlines.append((time.monotonic() + self._timeout_s, token))
        try:
            await self._send(subject, self._prefix + token, payload, headers, block)
        except BaseException:
            self._waiting.pop(token, None)
            self._made_room()
            future.cancel()
            raise
        return future

    async def _send(
        self, subject: str, reply: str, payload: bytes, headers: Mapping[str, str] | None, block: str | None
    ) -> None:
        nc: Any = self._nc
        if block is None and headers:
            block = header_block(headers)
            if block is None:  # a value nats-py must escape
                await nc.publish(subject, payload, reply=reply, headers=dict(headers))
                return
        if not self._fast or not nc.is_connected or len(payload) > nc.max_payload:
            await nc.publish(subject, payload, reply=reply, headers=_parse_block(block) if block else None)
            return
        if block is None:
            cmd = b"PUB %s %s %d\r\n%s\r\n" % (subject.encode(), reply.encode(), len(payload), payload)
        else:
            cmd = _hpub(subject, reply, block, payload)
        nc.stats["out_msgs"] += 1
        nc.stats["out_bytes"] += len(payload)
        await nc._send_command(cmd)
        if nc._flush_queue.empty():
            await nc._flush_pending()

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        if self._sub is not None:
            sub, self._sub = self._sub, None
            for future in self._waiting.values():
                if not future.done():
                    future.set_exception(nats.errors.ConnectionClosedError())
            self._waiting.clear()
            self._made_room()
            try:
                await sub.unsubscribe()
            except nats.errors.Error:
                pass
