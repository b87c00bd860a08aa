"""One WebSocket client: a bounded outgoing queue drained by its own writer, and the overflow policy.

Overflow policy: a client whose queue is full (it reads slower than its topics produce) is disconnected
with close code 1013 ("try again later") and a reason naming the last sequence handed to its socket. It
loses nothing: it reconnects and subscribes with `after_seq` set to the last sequence it saw, and gets
the rest from JetStream. Everyone else keeps receiving; nobody waits for a slow client.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from gateway.live.topics import Topic, covers
from gateway.live.ws_protocol import WriteFrame, text_frame

log = logging.getLogger(__name__)

OVERFLOW_CODE = 1013
Send = Callable[[dict[str, Any]], Awaitable[None]]


class LiveClient:
    """Messages are (seq, text) pairs; seq is 0 for messages that are not stored events."""

    def __init__(self, send: Send, who: str, *, max_queue: int, write_frame: WriteFrame | None = None) -> None:
        self.who = who  # the token's subject, for logs
        self.subscriptions: set[Any] = set()  # Topic values, kept by the hub's index too
        self.last_seq = 0  # highest event sequence handed to the socket
        self.closed = False
        self._send = send
        # Where the server offers it: a synchronous write of a whole frame (False: not now; see ws_protocol).
        self._write_frame = write_frame
        self._max = max_queue
        self._queue: deque[tuple[int, str, bytes | None]] = deque()
        self._sending = False  # the writer has taken a message off the queue and awaits its send
        self._held: list[tuple[int, str, Topic | None]] | None = None
        self._wakeup: asyncio.Future[None] | None = None
        self._room: asyncio.Future[None] | None = None
        self._writer: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._writer = asyncio.create_task(self._write(), name="ws-writer")

    def push(self, seq: int, text: str, topic: Topic | None = None, frame: bytes | None = None) -> None:
        """Send or queue a live message (the hub calls this, synchronously, for every client it concerns);
        `topic` is the exact topic of an event, so a replay can tell which held events it already sent;
        `frame`, the message as a WebSocket frame, built once for all clients."""
        if self.closed:
            return
        if self._held is not None:  # a replay is running: live messages wait behind it
            if len(self._held) >= self._max:
                self.overflow()
            else:
                self._held.append((seq, text, topic))
            return
        self._enqueue(seq, text, frame)

    def reply(self, text: str) -> None:
        """Queue an answer to the client's own request (never held behind a replay)."""
        if not self.closed:
            self._enqueue(0, text)

    async def put_replayed(self, seq: int, text: str) -> None:
        """Queue a replayed event, waiting while the queue is half full: a replay never overflows a client."""
        while not self.closed and len(self._queue) >= self._max // 2:
            self._room = asyncio.get_running_loop().create_future()
            await self._room
        if not self.closed:
            self._enqueue(seq, text)

    def _enqueue(self, seq: int, text: str, frame: bytes | None = None) -> None:
        # Straight to the socket when nothing is ahead of it: no queue, no writer wake-up, no ASGI send.
        if (not self._queue and not self._sending and self._write_frame is not None
                and self._write_frame(frame if frame is not None else text_frame(text.encode()))):
            self._sent(seq)
            return
        if len(self._queue) >= self._max:
            self.overflow()
            return
        self._queue.append((seq, text, frame))
        if self._wakeup is not None and not self._wakeup.done():
            self._wakeup.set_result(None)

    def hold(self) -> None:
        """Until `release`: keep live messages aside while a replay is queued ahead of them."""
        self._held = []

    def release(self, replayed: Topic, upto: int) -> None:
        """Queue what was held, except events of `replayed` up to seq `upto`: the replay sent those."""
        held, self._held = self._held or [], None
        for seq, text, topic in held:
            if seq and seq <= upto and topic is not None and covers(replayed, topic):
                continue
            self._enqueue(seq, text)

    def overflow(self) -> None:
        if self.closed:
            return
        log.warning("websocket client of %s overflowed %d queued messages: disconnected", self.who, self._max)
        self._queue.clear()
        self._held = None
        self._close(OVERFLOW_CODE, f"slow consumer: resume with after_seq={self.last_seq}")

    def _close(self, code: int, reason: str) -> None:
        self.closed = True
        self._wake_replay()
        if self._writer is not None:
            self._writer.cancel()  # it may be blocked on a socket the peer does not read
        asyncio.create_task(self._send_close(code, reason))

    async def _send_close(self, code: int, reason: str) -> None:
        try:
            await self._send({"type": "websocket.close", "code": code, "reason": reason})
        except Exception as err:  # the connection is already gone
            log.debug("closing websocket: %s", err)

    async def _write(self) -> None:
        queue, send = self._queue, self._send
        loop = asyncio.get_running_loop()
        try:
            while True:
                if not queue:
                    self._wakeup = loop.create_future()
                    await self._wakeup
                    continue
                seq, text, frame = queue.popleft()
                write_frame = self._write_frame
                if write_frame is None or not write_frame(frame if frame is not None else text_frame(text.encode())):
                    # The socket is full (or the server offers no direct write): wait until it drains.
                    self._sending = True
                    try:
                        await send({"type": "websocket.send", "text": text})
                    finally:
                        self._sending = False
                self._sent(seq)
                if self._room is not None and len(queue) < self._max // 2:
                    self._wake_replay()
        except asyncio.CancelledError:
            raise
        except Exception as err:  # the socket broke: the receive loop sees the disconnect and cleans up
            log.debug("websocket send failed: %s", err)
            self.closed = True
            self._wake_replay()

    def _sent(self, seq: int) -> None:
        if seq > self.last_seq:
            self.last_seq = seq

    def _wake_replay(self) -> None:
        if self._room is not None and not self._room.done():
            self._room.set_result(None)
        self._room = None

    async def stop(self) -> None:
        self.closed = True
        self._wake_replay()
        if self._writer is not None:
            self._writer.cancel()
            try:
                await self._writer
            except (asyncio.CancelledError, Exception):
                pass
