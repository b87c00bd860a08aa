"""Reads a stream in order from a start sequence through one ephemeral pull consumer, into a bounded buffer."""

from __future__ import annotations

import asyncio
import logging

import orjson
from nats.aio.client import Client as NATS
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

log = logging.getLogger(__name__)

FETCH = 1000
HIGH_WATER = 8000
EXPIRES_S = 5.0
HEARTBEAT_S = 1.0


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
        self._space = asyncio.Event()
        self._space.set()
        self._closed = False
        self._consumer: str | None = None

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
        if len(self._buf) < HIGH_WATER:
            self._space.set()
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
        inbox = self._nc.new_inbox()
        sub = await self._nc.subscribe(inbox, pending_msgs_limit=4 * HIGH_WATER, pending_bytes_limit=-1)
        try:
            await self._js.add_consumer(self._stream, config)
            await self._pull_loop(sub, inbox)
        finally:
            await self._cleanup(sub)

    async def _pull_loop(self, sub: object, inbox: str) -> None:
        next_msg = sub.next_msg  # type: ignore[attr-defined]
        request_subject = f"$JS.API.CONSUMER.MSG.NEXT.{self._stream}.{self._consumer}"
        request = orjson.dumps(
            {"batch": FETCH, "expires": int(EXPIRES_S * 1e9), "idle_heartbeat": int(HEARTBEAT_S * 1e9)}
        )
        last_cseq = 0
        while True:
            await self._space.wait()
            await self._nc.publish(request_subject, request, reply=inbox)
            left = FETCH
            while left:
                try:
                    msg = await next_msg(timeout=3 * HEARTBEAT_S)
                except (NatsTimeout, asyncio.TimeoutError) as err:
                    raise ConsumerLost(f"no message or heartbeat for {3 * HEARTBEAT_S}s") from err
                headers = msg.headers
                if not msg.data and headers and "Status" in headers:
                    status = headers["Status"]
                    if status == "100":
                        continue  # idle heartbeat: the consumer is alive
                    if status == "408":
                        break  # this pull expired; issue the next one
                    description = headers.get("Description", "")
                    raise ConsumerLost(f"pull ended with status {status} {description}")
                sseq, cseq = stream_seqs(msg.reply)
                if cseq != last_cseq + 1:
                    raise ConsumerLost(f"consumer sequence jumped from {last_cseq} to {cseq}")
                last_cseq = cseq
                self.next_seq = sseq + 1
                self._buf.append((sseq, msg.data))
                left -= 1
                self._ready.set()
            if len(self._buf) >= HIGH_WATER:
                self._space.clear()

    async def _cleanup(self, sub: object) -> None:
        try:
            await sub.unsubscribe()  # type: ignore[attr-defined]
            if self._consumer is not None and self._nc.is_connected:
                await self._js.delete_consumer(self._stream, self._consumer)
        except Exception as err:  # best effort: inactive_threshold removes it anyway
            log.debug("consumer cleanup: %s", err)
