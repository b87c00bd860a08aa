"""Reads a stream in order from a start sequence through one ephemeral pull consumer, into a bounded buffer."""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress

import orjson
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

log = logging.getLogger(__name__)

FETCH = 1000
HIGH_WATER = 8000
EXPIRES_S = 5.0
HEARTBEAT_S = 1.0
_PULL = orjson.dumps({"batch": FETCH, "expires": int(EXPIRES_S * 1e9), "idle_heartbeat": int(HEARTBEAT_S * 1e9)})


class ConsumerLost(Exception):
    """The consumer went away, skipped a message or stopped answering: restart from the checkpoint."""


def stream_seqs(reply: str) -> tuple[int, int]:
    """(stream seq, consumer seq) from a JetStream ack subject, old (9 tokens) or new (12 tokens) form."""
    tokens = reply.split(".")
    at = 5 if len(tokens) == 9 else 7
    return int(tokens[at]), int(tokens[at + 1])


class StreamReader:
    """Ack-less pull consumer from `start_seq`: messages are handed over as they arrive (low latency while
    live), one pull of FETCH at a time with the next issued as soon as one ends (throughput while
    replaying), and no new pull while HIGH_WATER messages wait (bounded memory). Any gap, lost consumer
    or silence past the heartbeat raises ConsumerLost; the owner restarts from its own checkpoint."""

    def __init__(self, nc: NATS, js: JetStreamContext, stream: str, subject: str, start_seq: int) -> None:
        self._nc, self._js, self._stream, self._subject = nc, js, stream, subject
        self.next_seq = start_seq
        self._buf: list[tuple[int, bytes]] = []
        self._ready = asyncio.Event()
        self._closed = False
        self._consumer: str | None = None
        self._inbox = ""
        self._request_subject = ""
        self._left = 0
        self._pulling = False
        self._last_cseq = 0
        self._activity = 0
        self._failure: ConsumerLost | None = None
        self._failed = asyncio.Event()

    def close(self) -> None:
        """Wake a waiting `take` with an empty batch (used on stop)."""
        self._closed = True
        self._ready.set()

    async def take(self, limit: int) -> list[tuple[int, bytes]]:
        """Up to `limit` messages in order, waiting for at least one; [] once closed."""
        while not self._buf:
            if self._closed:
                return []
            self._ready.clear()
            await self._ready.wait()
        out, self._buf = self._buf[:limit], self._buf[limit:]
        if not self._pulling and self._inbox and self._failure is None and len(self._buf) < HIGH_WATER:
            await self._request()
        return out

    async def run(self) -> None:
        """Fill the buffer until cancelled; raises ConsumerLost on any anomaly."""
        self._consumer = self._nc._nuid.next().decode()
        config = ConsumerConfig(
            name=self._consumer,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=self.next_seq,
            ack_policy=AckPolicy.NONE,
            filter_subject=self._subject,
            # Removed by the server soon after we stop pulling (crash, kill -9, reconnect elsewhere).
            inactive_threshold=30.0,
            mem_storage=True,
            num_replicas=1,
        )
        self._inbox = self._nc.new_inbox()
        self._request_subject = f"$JS.API.CONSUMER.MSG.NEXT.{self._stream}.{self._consumer}"
        # A callback, not next_msg(): next_msg costs a task per message, which replay cannot afford.
        sub = await self._nc.subscribe(
            self._inbox, cb=self._on_msg, pending_msgs_limit=4 * HIGH_WATER, pending_bytes_limit=-1
        )
        try:
            await self._js.add_consumer(self._stream, config)
            await self._request()
            await self._watch()
        finally:
            await self._cleanup(sub)

    async def _watch(self) -> None:
        """Raise the callback's failure, or ConsumerLost when a pull sees neither message nor heartbeat."""
        seen, quiet = -1, 0
        while True:
            with suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._failed.wait(), HEARTBEAT_S)
            if self._failure is not None:
                raise self._failure
            if not self._pulling or self._activity != seen:
                seen, quiet = self._activity, 0
                continue
            quiet += 1
            if quiet >= 3:
                raise ConsumerLost(f"no message or heartbeat for {3 * HEARTBEAT_S}s")

    async def _request(self) -> None:
        self._left, self._pulling = FETCH, True
        await self._nc.publish(self._request_subject, _PULL, reply=self._inbox)

    async def _pull_done(self) -> None:
        self._pulling = False
        if len(self._buf) < HIGH_WATER:
            await self._request()  # otherwise take() asks for more once the writer has made room

    def _fail(self, err: ConsumerLost) -> None:
        self._failure = err
        self._failed.set()

    async def _on_msg(self, msg: Msg) -> None:
        if self._failure is not None:
            return
        self._activity += 1
        if not msg.data:
            headers = msg.headers
            if headers and "Status" in headers:
                status = headers["Status"]
                if status == "100":
                    return  # idle heartbeat: the consumer is alive
                if status == "408":
                    await self._pull_done()  # this pull expired; issue the next one
                    return
                self._fail(ConsumerLost(f"pull ended with status {status} {headers.get('Description', '')}"))
                return
        sseq, cseq = stream_seqs(msg.reply)
        if cseq != self._last_cseq + 1:
            self._fail(ConsumerLost(f"consumer sequence jumped from {self._last_cseq} to {cseq}"))
            return
        self._last_cseq = cseq
        self.next_seq = sseq + 1
        self._buf.append((sseq, msg.data))
        self._ready.set()
        self._left -= 1
        if self._left == 0:
            await self._pull_done()

    async def _cleanup(self, sub: object) -> None:
        try:
            await sub.unsubscribe()  # type: ignore[attr-defined]
            if self._consumer is not None and self._nc.is_connected:
                await self._js.delete_consumer(self._stream, self._consumer)
        except Exception as err:  # best effort: inactive_threshold removes it anyway
            log.debug("consumer cleanup: %s", err)
