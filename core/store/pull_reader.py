"""A durable pull consumer read over a bare connection: messages as they arrive, explicit acks, credit-based pulls.

nats-py's `fetch` costs a request, a future, `wait_for` and a Msg with parsed headers per message, and
a fetch of one followed by a short probe (to take what else is there without waiting to fill a batch)
adds a round trip. Here the owner says how many messages it wants outstanding (`want`); pull requests
top that credit up and stay open, so the server pushes each message the moment it arrives, and acks are
plain writes coalesced with everything else the loop turn writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import orjson
from nats.aio.client import Client as NATS

from core.runtime import cancel_and_wait
from core.store.mailbox import Mailbox
from core.store.wire import Frame, Wire, WireError, server_of

log = logging.getLogger(__name__)

EXPIRES_S = 5.0
HEARTBEAT_S = 1.0
_PENDING_HEADER = b"Nats-Pending-Messages: "


class ConsumerGone(Exception):
    """The server says the consumer no longer exists (deleted, or its stream was): create it again."""


class Delivery:
    """One message and how to settle it; the methods match nats-py's Msg so callers can take either."""

    __slots__ = ("subject", "reply", "data", "headers", "_reader")

    def __init__(self, subject: str, reply: str, data: bytes, reader: PullReader, headers: bytes = b"") -> None:
        self.subject, self.reply, self.data, self._reader = subject, reply, data, reader
        # The raw header block as it came (not parsed: only tracing looks in it, for the traceparent).
        self.headers = headers

    async def ack(self) -> None:
        await self._reader.settle(self.reply, b"+ACK")

    async def nak(self, delay: float | None = None) -> None:
        await self._reader.settle(self.reply, b"-NAK" if delay is None else b'-NAK {"delay": %d}' % int(delay * 1e9))

    async def in_progress(self) -> None:
        await self._reader.settle(self.reply, b"+WPI")

    async def term(self) -> None:
        await self._reader.settle(self.reply, b"+TERM")


class PullReader:
    """`take()` the messages of durable consumer `durable` on `stream` as they arrive, at most `want`
    (see there) delivered or requested ahead. `run()` keeps the connection (a Wire to the server `nc` is connected to), reconnecting
    after a break or a silence past three missed pull heartbeats; it raises ConsumerGone for the owner."""

    def __init__(
        self, nc: NATS, stream: str, durable: str, *, want: int, configured_url: str | None = None,
        name: str = "hive-pull-reader", expires_s: float = EXPIRES_S, heartbeat_s: float = HEARTBEAT_S,
    ) -> None:
        self._nc, self._configured_url, self._name = nc, configured_url, name
        self._next = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}"
        self._expires_ns, self._heartbeat_s = int(expires_s * 1e9), heartbeat_s
        self._want = want
        self._credit = 0  # messages asked for and neither delivered nor expired
        # A fresh inbox per connection: pulls still queued on the server from a broken connection would
        # otherwise deliver to the next one, past the credit it asked for.
        self._inbox_base = nc.new_inbox()  # under nc's inbox prefix, as permissions expect
        self._inbox = self._inbox_base
        self._connections = 0
        self._wire: Wire | None = None
        self._box: Mailbox[Delivery] = Mailbox()
        self._heard = time.monotonic()
        self._idle = asyncio.Event()  # set when nothing is asked for any more (see quiesce)

    def want(self, n: int) -> None:
        """Keep `n` messages coming beyond those handed over by `take`: delivered and waiting in the buffer,
        or asked for (0: ask for nothing more; what is asked already may still come). Call it again after
        each `take`: taken messages no longer count, and only the owner knows how many more it can hold."""
        self._want = max(0, n)
        self._top_up()

    async def quiesce(self, timeout: float) -> None:
        """Ask for nothing more, then wait (up to `timeout`) until every open pull has delivered or expired,
        so that nothing more arrives; what arrived meanwhile is still there to `take`."""
        self._want = 0
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while self._credit > 0 and self._wire is not None:
                    self._idle.clear()
                    await self._idle.wait()

    def close(self) -> None:
        """Wake a waiting `take` with an empty list (used on stop)."""
        self._box.close()

    async def take(self, limit: int = 1 << 30) -> list[Delivery]:
        """Up to `limit` delivered messages in arrival order, waiting for at least one; [] once closed."""
        return await self._box.take(limit)

    async def settle(self, reply: str, verdict: bytes) -> None:
        """Send an ack (or nak, progress, term) to `reply`: on the reader's connection, coalesced with its
        other writes; once that is closed (a drain's last acks), through nats-py's. With neither, it is
        dropped, and the server redelivers after its ack wait as it would for an ack lost on the way."""
        if self._wire is not None and not self._wire.closing:
            self._wire.write(b"PUB %s %d\r\n%s\r\n" % (reply.encode(), len(verdict), verdict))
        elif not self._nc.is_closed:
            await self._nc.publish(reply, verdict)

    async def run(self) -> None:
        """Read until cancelled, reconnecting as needed; raises ConsumerGone."""
        delay = 0.05
        while True:
            try:
                url, credentials = server_of(self._nc, self._configured_url)
                wire = await Wire.open(url, self._name, credentials=credentials)
            except (OSError, WireError, TimeoutError, ValueError) as err:
                log.warning("%s: cannot connect (%s); retrying in %.1fs", self._name, err, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
                continue
            opened = time.monotonic()
            try:
                await self._serve(wire)
            except (OSError, WireError) as err:
                log.warning("%s: connection lost (%s); reconnecting", self._name, err)
            finally:
                self._wire, self._credit = None, 0  # pulls die with their connection
                self._idle.set()
                await wire.close()
            # Back off unless the connection had served a while: a server that refuses at once
            # (JetStream still starting) must not be hammered.
            if time.monotonic() - opened > 10 * self._heartbeat_s:
                delay = 0.05
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    async def _serve(self, wire: Wire) -> None:
        self._connections += 1
        self._inbox = f"{self._inbox_base}.{self._connections}"
        wire.subscribe(self._inbox)
        self._wire, self._heard = wire, time.monotonic()
        self._top_up()
        pump = asyncio.create_task(self._pump(wire))
        try:
            while True:
                done, _ = await asyncio.wait({pump}, timeout=self._heartbeat_s)
                if done:
                    pump.result()
                    raise WireError("the reader stopped")
                if self._credit and time.monotonic() - self._heard > 3 * self._heartbeat_s:
                    raise WireError(f"no message or heartbeat for {3 * self._heartbeat_s:.0f}s")
        finally:
            await cancel_and_wait(pump)

    async def _pump(self, wire: Wire) -> None:
        while True:
            self._receive(await wire.frames())

    def _receive(self, frames: list[Frame]) -> None:
        self._heard = time.monotonic()
        buf = self._box.items
        for subject, reply, headers, data in frames:
            if reply:
                self._credit -= 1
                buf.append(Delivery(subject.decode(), reply.decode(), data, self, headers))
            else:
                self._status(headers)
        self._credit = max(self._credit, 0)
        if buf:
            self._box.wake()
        self._top_up()
        if self._credit == 0:
            self._idle.set()

    def _status(self, headers: bytes) -> None:
        # "NATS/1.0 <code> <description>", then for an ended pull how many of its messages never came.
        code = headers[9:12]
        if code == b"100":
            return  # idle heartbeat: the pull is alive
        line = headers.split(b"\r\n", 1)[0][13:]
        if (code == b"409" and (b"Deleted" in line or b"No Longer" in line)) or code == b"503":
            # 503: no responders, so no consumer (or no stream) answers the pull.
            raise ConsumerGone(line.decode(errors="replace") or f"status {code.decode(errors='replace')}")
        at = headers.find(_PENDING_HEADER)
        if code in (b"404", b"408", b"409") and at >= 0:
            end = headers.find(b"\r\n", at)
            self._credit = max(self._credit - int(headers[at + len(_PENDING_HEADER):end]), 0)
            return
        # Anything else (a 409 that does not say what is left of the pull, say): start afresh, after the
        # reconnect backoff, rather than guess at the credit and re-pull in a loop.
        raise WireError(f"pull ended with status {code.decode(errors='replace')} {line.decode(errors='replace')}")

    def _top_up(self) -> None:
        # Small wants (a sidecar's free slots) are topped up exactly; large ones once half is used, so a
        # busy consumer sends a pull per half batch rather than one per message.
        missing = self._want - self._credit - len(self._box)
        if self._wire is None or missing <= 0 or (self._want > 8 and missing < self._want // 2):
            return
        self._credit += missing
        request = orjson.dumps({"batch": missing, "expires": self._expires_ns,
                                "idle_heartbeat": int(self._heartbeat_s * 1e9)})
        self._wire.publish(self._next, request, self._inbox)
