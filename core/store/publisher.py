"""Pipelined JetStream publishing on a connection of its own: many publishes in flight, one future each.

nats-py's `js.publish` is a request per message (a fresh future, `wait_for`, its own flush), which caps
a Python process at a few thousand acknowledged publishes a second, and even its plain publish plus a
subscription for the acks costs ~10 µs a message in Msg objects, header parsing and queue hand-offs.
Here messages go out on a bare Wire (everything written in one turn of the event loop leaves in one
system call) and acks come back on it as raw frames matched to futures by reply token. The window is
bounded, so a slow server applies backpressure instead of growing memory.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import deque
from collections.abc import Mapping

import msgspec
import nats.errors
from nats.aio.client import Client as NATS
from nats.js.errors import APIError, ServiceUnavailableError

from core.runtime import cancel_and_wait
from core.store.wire import Frame, Wire, WireError, server_of

log = logging.getLogger(__name__)

DEFAULT_WINDOW = 4096
DEFAULT_TIMEOUT_S = 5.0


class AckLost(nats.errors.TimeoutError):
    """The connection broke before the ack came: the message may or may not be stored (as with a timeout,
    a retry with the same Nats-Msg-Id is safe)."""

    def __str__(self) -> str:
        return "nats: connection lost before the publish was acknowledged"


class _AckError(msgspec.Struct):
    code: int = 0
    err_code: int = 0
    description: str = ""


class Ack(msgspec.Struct):
    """JetStream's answer to a publish: where the message was stored (the fields of nats-py's PubAck, decoded in one step)."""

    stream: str = ""
    seq: int = 0
    duplicate: bool = False
    error: _AckError | None = None


_ack_decoder = msgspec.json.Decoder(Ack)
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


def _result(headers: bytes, payload: bytes) -> Ack | BaseException:
    if not payload:
        # A status frame: "NATS/1.0 503" when no stream listens on the subject.
        status = headers[9:12].decode(errors="replace")
        if status == "503":
            return nats.errors.NoRespondersError()
        return ServiceUnavailableError(code=int(status) if status.isdigit() else 0,
                                       description="empty reply to a JetStream publish")
    try:
        ack = _ack_decoder.decode(payload)
    except msgspec.DecodeError as err:
        return APIError(description=f"unreadable publish ack: {err}")
    if ack.error is not None:
        e = ack.error
        return APIError(code=e.code, err_code=e.err_code, description=e.description)
    return ack


class Publisher:
    """`await publish(...)` returns the Ack (or raises like js.publish); many may be awaited at once.

    The connection goes to the server `nc` is connected to (with `configured_url`'s credentials where that
    address has none), is opened on first use and again after it breaks; acks outstanding on a broken
    connection fail with AckLost."""

    def __init__(
        self, nc: NATS, *, window: int = DEFAULT_WINDOW, timeout_s: float = DEFAULT_TIMEOUT_S,
        configured_url: str | None = None, name: str = "hive-publisher",
    ) -> None:
        self._nc = nc
        self._configured_url = configured_url
        self._name = name
        self._timeout_s = timeout_s
        # At most `window` acks outstanding; publishers past that wait on `_room` (no semaphore per message).
        self._window = window
        self._room: asyncio.Future[None] | None = None
        self._waiting: dict[int, asyncio.Future[Ack]] = {}
        # Timeouts are all equal, so deadlines arrive in order: one sweeper instead of a timer per message.
        self._deadlines: deque[tuple[float, int]] = deque()
        self._sweeper: asyncio.Task[None] | None = None
        self._tokens = itertools.count()
        # Under nc's inbox prefix: per-agent NATS permissions allow replies only there.
        self._prefix = nc.new_inbox() + "."
        self._prefix_len = len(self._prefix)
        self._wire: Wire | None = None
        self._pump: asyncio.Task[None] | None = None
        self._connecting = asyncio.Lock()
        self._closed = False

    async def _connection(self) -> Wire:
        """The open connection, or a new one; keeps trying for the publish timeout while the server is away."""
        async with self._connecting:
            deadline, delay = time.monotonic() + self._timeout_s, 0.05
            while self._wire is None:
                if self._closed:
                    raise nats.errors.ConnectionClosedError()
                try:
                    url, credentials = server_of(self._nc, self._configured_url)
                    wire = await Wire.open(url, self._name, credentials=credentials, timeout=self._timeout_s)
                except (OSError, WireError, TimeoutError, ValueError) as err:
                    if time.monotonic() + delay > deadline:
                        raise nats.errors.TimeoutError() from err
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 1.0)
                    continue
                wire.subscribe(self._prefix + "*")
                self._wire = wire
                self._pump = asyncio.create_task(self._read(wire), name="publisher-acks")
                if self._sweeper is None:
                    self._sweeper = asyncio.create_task(self._sweep(), name="publisher-timeouts")
            return self._wire

    async def _read(self, wire: Wire) -> None:
        try:
            while True:
                self._on_acks(await wire.frames())
        except (OSError, WireError) as err:
            if not self._closed:
                log.warning("publisher connection lost: %s", err)
        finally:
            self._lost(wire)
            await wire.close()

    def _lost(self, wire: Wire) -> None:
        """Every outstanding ack went out on `wire` (a new connection is opened only after this): fail them."""
        if self._wire is not wire:
            return
        self._wire = None
        waiting, self._waiting = self._waiting, {}
        self._deadlines.clear()
        for future in waiting.values():
            if not future.done():
                future.set_exception(AckLost())
        self._made_room()

    def _made_room(self) -> None:
        if self._room is not None and len(self._waiting) < self._window:
            if not self._room.done():
                self._room.set_result(None)
            self._room = None

    def _on_acks(self, frames: list[Frame]) -> None:
        waiting, plen = self._waiting, self._prefix_len
        for subject, _, headers, payload in frames:
            future = waiting.pop(int(subject[plen:]), None)
            if future is None or future.done():
                continue  # timed out already
            result = _result(headers, payload)
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)
        self._made_room()

    async def _sweep(self) -> None:
        deadlines = self._deadlines
        while True:
            await asyncio.sleep(_SWEEP_S)
            now = time.monotonic()
            expired = 0
            while deadlines and deadlines[0][0] <= now:
                future = self._waiting.pop(deadlines.popleft()[1], None)
                if future is not None and not future.done():
                    future.set_exception(nats.errors.TimeoutError())
                    expired += 1
            self._made_room()
            wire = self._wire
            if expired and wire is not None and wire.loop.time() - wire.last_read > self._timeout_s:
                # Acks overdue and not a byte from the server for a whole timeout: the connection may be
                # half open (a peer gone without a reset), which TCP could take many minutes to notice.
                # (One slow ack on a connection that still answers is not a reason to drop the others.)
                log.warning("publisher: %d acks timed out on a silent connection; reconnecting", expired)
                self._lost(wire)
                wire.abort()

    async def publish(self, subject: str, payload: bytes, headers: Mapping[str, str] | None = None) -> Ack:
        future = await self.submit(subject, payload, headers)
        return await future

    async def submit(
        self, subject: str, payload: bytes, headers: Mapping[str, str] | None = None, *, block: str | None = None
    ) -> asyncio.Future[Ack]:
        """Put the message on the wire and return the future of its ack (so a caller can send a batch first).

        `block` is the headers already in wire form (see `header_block`), for callers on a hot path."""
        if block is None and headers:
            block = header_block(headers)
            if block is None:
                raise ValueError(f"header values may not contain line breaks: {dict(headers)!r}")
        future = self.try_submit(subject, payload, block)
        if future is not None:
            return future
        wire = self._wire or await self._connection()
        if len(payload) > wire.max_payload:
            raise nats.errors.MaxPayloadError(f"{len(payload)} bytes is over the server's {wire.max_payload}")
        while len(self._waiting) >= self._window:
            if self._room is None:
                self._room = asyncio.get_running_loop().create_future()
            # Shielded: one waiter cancelled must not cancel the shared future under the others.
            await asyncio.shield(self._room)
            wire = self._wire or await self._connection()
        return self._put(wire, subject, payload, block)

    def try_submit(self, subject: str, payload: bytes, block: str | None = None) -> asyncio.Future[Ack] | None:
        """`submit` without waiting: None when it would have to (no connection yet, the window full) or
        must refuse (a payload over the limit), and the caller then awaits `submit`."""
        wire = self._wire
        if wire is None or len(self._waiting) >= self._window or len(payload) > wire.max_payload:
            return None
        return self._put(wire, subject, payload, block)

    def _put(self, wire: Wire, subject: str, payload: bytes, block: str | None) -> asyncio.Future[Ack]:
        token = next(self._tokens)
        future: asyncio.Future[Ack] = wire.loop.create_future()
        self._waiting[token] = future
        self._deadlines.append((time.monotonic() + self._timeout_s, token))
        reply = self._prefix + str(token)
        if block is None:
            wire.write(b"PUB %s %s %d\r\n%s\r\n" % (subject.encode(), reply.encode(), len(payload), payload))
        else:
            wire.write(_hpub(subject, reply, block, payload))
        return future

    async def close(self) -> None:
        self._closed = True
        await cancel_and_wait(*(t for t in (self._sweeper, self._pump) if t is not None))
        self._sweeper = self._pump = None
        waiting, self._waiting = self._waiting, {}
        for future in waiting.values():
            if not future.done():
                future.set_exception(nats.errors.ConnectionClosedError())
        self._made_room()
