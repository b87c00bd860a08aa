"""Reads a stream in order from a start sequence through one ephemeral pull consumer, into a bounded buffer."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from typing import NoReturn

import orjson
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from core.runtime import cancel_and_wait
from core.store.mailbox import Mailbox
from core.store.wire import Frame, Wire, server_of

log = logging.getLogger(__name__)

FETCH = 2000
HIGH_WATER = 8000
EXPIRES_S = 5.0
HEARTBEAT_S = 1.0


class ConsumerLost(Exception):
    """The consumer went away, skipped a message or stopped answering: restart from the checkpoint."""


def stream_seqs(reply: bytes) -> tuple[int, int]:
    """(stream seq, consumer seq) from a JetStream ack subject, old (9 tokens) or new (12 tokens) form."""
    tokens = reply.split(b".")
    at = 5 if len(tokens) == 9 else 7
    return int(tokens[at]), int(tokens[at + 1])


class StreamReader:
    """Ack-less pull consumer from `start_seq`: messages are handed over as they arrive (low latency while
    live), one pull of `fetch` at a time with the next issued as soon as one ends (throughput while
    replaying), and no new pull while `high_water` messages wait (bounded memory). Any gap, lost consumer
    or silence past the heartbeat raises ConsumerLost; the owner restarts from its own checkpoint.

    The consumer is managed through nats-py (`js`); its messages arrive on a Wire of their own, opened
    to the server `nc` is connected to (with `configured_url`'s credentials where that server's address
    has none), because nats-py's per-message cost dominated a replay."""

    def __init__(
        self, nc: NATS, js: JetStreamContext, stream: str, subject: str, start_seq: int,
        *, configured_url: str | None = None, fetch: int = FETCH, high_water: int = HIGH_WATER,
        name: str = "hive-stream-reader", on_headers: Callable[[int, bytes], None] | None = None,
    ) -> None:
        self._nc, self._js, self._stream, self._subject = nc, js, stream, subject
        # Given each message's stream seq and raw header block as it arrives (tracing reads traceparents).
        self._on_headers = on_headers
        self._name = name
        self._configured_url = configured_url
        self.next_seq = start_seq
        self._fetch, self._high_water = fetch, high_water
        self._pull = orjson.dumps(
            {"batch": fetch, "expires": int(EXPIRES_S * 1e9), "idle_heartbeat": int(HEARTBEAT_S * 1e9)}
        )
        self._box: Mailbox[tuple[int, bytes]] = Mailbox()
        self._wire: Wire | None = None
        self._inbox = nc.new_inbox()  # under nc's inbox prefix, as permissions expect
        self._request_subject = ""
        self._left = 0
        self._pulling = False
        self._last_cseq = 0
        self._activity = 0

    def close(self) -> None:
        """Wake a waiting `take` with an empty batch (used on stop)."""
        self._box.close()

    async def take(self, limit: int) -> list[tuple[int, bytes]]:
        """Up to `limit` messages in order, waiting for at least one; [] once closed."""
        out = await self._box.take(limit)
        if not self._pulling and not self._box.closed and len(self._box) < self._high_water:
            self._request()
        return out

    async def run(self) -> None:
        """Fill the buffer until cancelled; raises ConsumerLost (or a connection error) on any anomaly."""
        if self._nc.connected_url is None:
            raise ConsumerLost("not connected to NATS")
        consumer = uuid.uuid4().hex
        config = ConsumerConfig(
            name=consumer,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=self.next_seq,
            ack_policy=AckPolicy.NONE,
            filter_subject=self._subject,
            # Removed by the server soon after we stop pulling (crash, kill -9, reconnect elsewhere).
            inactive_threshold=30.0,
            mem_storage=True,
            num_replicas=1,
        )
        self._request_subject = f"$JS.API.CONSUMER.MSG.NEXT.{self._stream}.{consumer}"
        url, credentials = server_of(self._nc, self._configured_url)
        wire = await Wire.open(url, self._name, credentials=credentials)
        try:
            wire.subscribe(self._inbox)
            await self._js.add_consumer(self._stream, config)
            self._wire = wire
            self._request()
            pump = asyncio.create_task(self._pump(wire))
            try:
                await self._watch(pump)
            finally:
                await cancel_and_wait(pump)
        finally:
            self._wire = None
            await wire.close()
            await self._delete(consumer)

    async def _pump(self, wire: Wire) -> None:
        while True:
            self._receive(await wire.frames())

    def _receive(self, frames: list[Frame]) -> None:
        self._activity += 1
        buf, last_cseq, on_headers = self._box.items, self._last_cseq, self._on_headers
        try:
            for _, reply, headers, data in frames:
                if not reply:
                    self._status(headers)
                    continue
                sseq, cseq = stream_seqs(reply)
                if cseq != last_cseq + 1:
                    raise ConsumerLost(f"consumer sequence jumped from {last_cseq} to {cseq}")
                last_cseq = cseq
                buf.append((sseq, data))
                if on_headers is not None:
                    on_headers(sseq, headers)
                self._left -= 1
                if self._left == 0:
                    self._pull_done()
        finally:
            self._last_cseq = last_cseq
            if buf:
                self.next_seq = buf[-1][0] + 1
                self._box.wake()

    def _status(self, headers: bytes) -> None:
        # A status frame's header block starts "NATS/1.0 <code> <description>".
        code = headers[9:12]
        if code == b"100":
            return  # idle heartbeat: the consumer is alive
        if code == b"408":
            self._pull_done()  # this pull expired; issue the next one
            return
        status = headers.split(b"\r\n", 1)[0][9:].decode(errors="replace")
        raise ConsumerLost(f"pull ended with status {status}")

    async def _watch(self, pump: asyncio.Task[None]) -> None:
        """Raise the pump's failure, or ConsumerLost when a pull sees neither message nor heartbeat."""
        seen, quiet = -1, 0
        while True:
            done, _ = await asyncio.wait({pump}, timeout=HEARTBEAT_S)
            if done:
                pump.result()
                raise ConsumerLost("the reader stopped")
            if not self._pulling or self._activity != seen:
                seen, quiet = self._activity, 0
                continue
            quiet += 1
            if quiet >= 3:
                raise ConsumerLost(f"no message or heartbeat for {3 * HEARTBEAT_S}s")

    def _request(self) -> None:
        if self._wire is None:
            return
        self._left, self._pulling = self._fetch, True
        self._wire.publish(self._request_subject, self._pull, self._inbox)

    def _pull_done(self) -> None:
        self._pulling = False
        if len(self._box) < self._high_water:
            self._request()  # otherwise take() asks for more once the writer has made room

    async def _delete(self, consumer: str) -> None:
        try:
            if self._nc.is_connected:
                await self._js.delete_consumer(self._stream, consumer)
        except Exception as err:  # best effort: inactive_threshold removes it anyway
            log.debug("consumer cleanup: %s", err)


async def follow(
    nc: NATS, js: JetStreamContext, stream: str, subject: str, *, applied: Callable[[], int],
    apply: Callable[[list[tuple[int, bytes]]], None], take: int, configured_url: str | None, name: str,
    on_headers: Callable[[int, bytes], None] | None = None,
) -> NoReturn:
    """Feed `apply` every message after `applied()`, in order, forever: a lost reader (or a broken
    connection, e.g. a restarted server) is replaced by one starting right after the last message applied,
    so nothing is applied twice or skipped. Backs off while failures repeat without progress."""
    delay = 0.1
    while True:
        before = applied()
        reader = StreamReader(nc, js, stream, subject, before + 1, configured_url=configured_url, name=name,
                              on_headers=on_headers)
        runner = asyncio.create_task(reader.run())
        runner.add_done_callback(lambda _: reader.close())
        try:
            while batch := await reader.take(take):
                apply(batch)
            runner.result()  # the reader ended: say why
        except (ConsumerLost, OSError, TimeoutError) as err:
            if applied() > before:
                delay = 0.1  # that reader did work: this is a new failure, not the same one again
            log.warning("%s: reader lost (%s); resuming after seq %d in %.1fs", name, err, applied(), delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
        finally:
            await cancel_and_wait(runner)
