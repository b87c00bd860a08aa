"""The gateway process's one reader of the event log and live tokens, fanned out to subscribed clients.

It follows `<prefix>.events.>` from the moment the first client subscribes (nothing is read while
nobody listens) and hands each event, encoded once, to the bounded queue of every client whose topics
cover it, in stream order. Token chunks arrive on core NATS (`<prefix>.live.task.<id>`), never stored.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Any

import msgspec
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext

from core.messages import token_chunk_decoder
from core.runtime import cancel_and_wait
from core.settings import Settings
from core.store.reader import follow
from gateway.live.client import LiveClient
from gateway.live.protocol import event_message, message, now_iso
from gateway.live.ws_protocol import text_frame
from gateway.live.topics import ANY, CLUSTER_STATUS, Topic, topic_of_event

log = logging.getLogger(__name__)

TAKE = 1000


class _Head(msgspec.Struct):
    """The part of a stored event that routing needs (msgspec skips the rest without building it)."""

    type: str
    aggregate: str
    aggregate_id: str


class _AlertData(msgspec.Struct):
    severity: str = "info"


class _Alert(msgspec.Struct):
    data: _AlertData


_head = msgspec.json.Decoder(_Head)
_alert = msgspec.json.Decoder(_Alert)

StatusSource = Callable[[], Awaitable[dict[str, Any]]]


def topic_of_stored(data: bytes) -> Topic | None:
    """The exact topic a stored event is published on (an alert's is its severity's)."""
    try:
        head = _head.decode(data)
    except msgspec.ValidationError:
        return None
    topic = topic_of_event(head.aggregate, head.aggregate_id)
    if topic is None and head.aggregate == "system" and head.type.startswith("alert."):
        with suppress(msgspec.ValidationError):
            return Topic("alerts", _alert.decode(data).data.severity)
    return topic


class Hub:
    def __init__(self, settings: Settings, nc: NATS, js: JetStreamContext, *, status: StatusSource,
                 status_interval_s: float = 2.0) -> None:
        self.settings = settings
        self.nc, self.js = nc, js
        self.seq = 0  # the last event sequence routed
        self._status, self._status_interval_s = status, status_interval_s
        # kind -> key (an id, a severity, "status" or "*") -> clients
        self._index: dict[str, dict[str, set[LiveClient]]] = {}
        self._subscriptions = 0
        self._running: list[asyncio.Task[None]] = []
        self._tokens: Subscription | None = None
        self._starting: asyncio.Lock = asyncio.Lock()
        self._reached: list[tuple[int, asyncio.Future[None]]] = []  # (seq, woken once routed up to seq)

    # -- subscriptions ----------------------------------------------------------------------------

    async def subscribe(self, client: LiveClient, topic: Topic) -> None:
        """Route `topic` to `client` from the next event on; starts following the log if idle."""
        await self._ensure_running()
        if topic in client.subscriptions:
            return
        client.subscriptions.add(topic)
        self._index.setdefault(topic.kind, {}).setdefault(topic.key, set()).add(client)
        self._subscriptions += 1

    def unsubscribe(self, client: LiveClient, topic: Topic) -> bool:
        if topic not in client.subscriptions:
            return False
        client.subscriptions.discard(topic)
        keys = self._index.get(topic.kind, {})
        clients = keys.get(topic.key)
        if clients is not None:
            clients.discard(client)
            if not clients:
                del keys[topic.key]
        self._subscriptions -= 1
        return True

    def disconnect(self, client: LiveClient) -> None:
        for topic in list(client.subscriptions):
            self.unsubscribe(client, topic)

    def clients_of(self, kind: str, key: str) -> set[LiveClient]:
        keys = self._index.get(kind)
        if not keys:
            return set()
        exact, wildcard = keys.get(key), keys.get(ANY)
        if exact and wildcard:
            return exact | wildcard
        return exact or wildcard or set()

    # -- following the log ------------------------------------------------------------------------

    async def _ensure_running(self) -> None:
        async with self._starting:
            if self._running:
                return
            info = await self.js.stream_info(self.settings.events_stream)
            self.seq = info.state.last_seq
            prefix = self.settings.prefix
            self._tokens = await self.nc.subscribe(f"{prefix}.live.task.*", cb=self._on_tokens,
                                                   pending_msgs_limit=100_000)
            # Core NATS keeps nothing: the server must know this subscription before a client is told it is
            # subscribed, or chunks published just after that would be dropped.
            await self.nc.flush()
            self._running = [asyncio.create_task(self._follow(), name="live-events"),
                             asyncio.create_task(self._publish_status(), name="live-status")]

    async def _follow(self) -> None:
        s = self.settings
        await follow(self.nc, self.js, s.events_stream, f"{s.prefix}.events.>", applied=lambda: self.seq,
                     apply=self._route, take=TAKE, configured_url=s.nats_url, name="hive-gateway-live")

    def _route(self, batch: list[tuple[int, bytes]]) -> None:
        timestamp = now_iso()
        for seq, data in batch:
            self.seq = seq
            for topic, clients in self.route_event(data):
                text = event_message(seq, str(topic), data, timestamp)
                frame = text_frame(text.encode())  # once for every client
                for client in clients:
                    client.push(seq, text, topic, frame)
        if self._reached:
            waiting = []
            for seq, future in self._reached:
                if seq <= self.seq:
                    if not future.done():
                        future.set_result(None)
                else:
                    waiting.append((seq, future))
            self._reached = waiting

    async def reached(self, seq: int, timeout_s: float) -> None:
        """Return once every event up to `seq` has been routed (TimeoutError after `timeout_s`)."""
        if self.seq >= seq:
            return
        future = asyncio.get_running_loop().create_future()
        self._reached.append((seq, future))
        await asyncio.wait_for(future, timeout_s)

    def route_event(self, data: bytes) -> list[tuple[Topic, set[LiveClient]]]:
        """The exact topic of a stored event and the clients subscribed to it (none: [])."""
        topic = topic_of_stored(data)
        if topic is None:
            return []
        clients = self.clients_of(topic.kind, topic.key)
        return [(topic, clients)] if clients else []

    async def _on_tokens(self, msg: Msg) -> None:
        task_id = msg.subject.rsplit(".", 1)[-1]
        clients = self.clients_of("task", task_id)
        if not clients:
            return
        try:
            chunk = token_chunk_decoder.decode(msg.data)
        except msgspec.ValidationError:
            return
        topic = Topic("task", task_id)
        text = message("data", id=f"{task_id}:{chunk.attempt}:{chunk.index}", topic=str(topic), data={
            "type": "task.tokens", "task_id": task_id, "attempt": chunk.attempt, "index": chunk.index,
            "text": chunk.text})
        for client in clients:
            client.push(0, text, topic)

    async def _publish_status(self) -> None:
        while True:
            clients = self.clients_of("cluster", "status")
            if clients:
                try:
                    snapshot = await self._status()
                except Exception as err:  # the read model is unreachable: say nothing rather than guess
                    log.warning("cluster status unavailable: %s", err)
                else:
                    text = message("data", id=f"status:{self.seq}", topic=CLUSTER_STATUS, data=snapshot)
                    for client in self.clients_of("cluster", "status"):  # again: the query took a while
                        client.push(0, text)
            await asyncio.sleep(self._status_interval_s)

    async def close(self) -> None:
        await cancel_and_wait(*self._running)
        self._running = []
        if self._tokens is not None:
            with suppress(Exception):
                await self._tokens.unsubscribe()
