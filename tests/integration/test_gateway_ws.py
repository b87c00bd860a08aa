"""WS /ws on a gateway served by uvicorn, driven by the `websockets` client: auth, topics, replay, overflow."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec
import pytest
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.uri import parse_uri
from websockets.exceptions import ConnectionClosed, InvalidStatus

from core.dev.ports import free_port
from core.events import new_envelope
from core.events.envelope import EventData
from core.events.task import TaskCreated, TaskQueued
from core.ids import uuid7
from core.messages import TokenChunk, dispatch_encoder
from core.settings import Settings
from core.store.connect import connect
from core.store.event_store import EventStore
from tests.integration.served import served
from tests.integration.test_gateway_support import insert_task, token

RECV_S = 10.0


@asynccontextmanager
async def live_gateway(settings: Settings, **overrides: Any) -> AsyncIterator[tuple[Settings, httpx.AsyncClient]]:
    settings = msgspec.structs.replace(settings, gateway_port=free_port(), **overrides)
    async with served(settings, asyncio.Event()) as (client, _):
        yield settings, client


def ws_url(settings: Settings, query: str = "") -> str:
    return f"ws://{settings.gateway_host}:{settings.gateway_port}/ws{query}"


def connect_ws(settings: Settings, role: str = "viewer", **kwargs: Any) -> Any:
    headers = {"Authorization": f"Bearer {token(settings, role)}"}
    return websockets.connect(ws_url(settings), additional_headers=headers, **kwargs)


async def send(ws: ClientConnection, type_: str, topic: str | None = None, data: Any = None, id: str = "1") -> None:
    msg: dict[str, Any] = {"id": id, "type": type_}
    if topic is not None:
        msg["topic"] = topic
    if data is not None:
        msg["data"] = data
    await ws.send(json.dumps(msg))


async def recv(ws: ClientConnection) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), RECV_S))  # type: ignore[no-any-return]


async def subscribe(ws: ClientConnection, topic: str, after_seq: int | None = None) -> dict[str, Any]:
    await send(ws, "subscribe", topic, None if after_seq is None else {"after_seq": after_seq})
    reply = await recv(ws)
    assert reply["type"] == "subscribe" and reply["data"]["subscribed"], reply
    return reply


class Log:
    """Appends task events the way the gateway and coordinator do, through the event store."""

    def __init__(self, store: EventStore, nc: Any) -> None:
        self.store, self.nc = store, nc
        self.last: dict[str, int] = {}

    async def append(self, task_id: str, data: EventData) -> int:
        env = new_envelope(data, event_id=uuid7(), aggregate_id=task_id, occurred_at=datetime.now(UTC), actor="test")
        self.last[task_id] = await self.store.append([env], self.last.get(task_id, 0))
        return self.last[task_id]

    async def create(self, prompt: str = "") -> tuple[str, int]:
        task_id = uuid7()
        return task_id, await self.append(task_id, TaskCreated(title="t", prompt=prompt))


@asynccontextmanager
async def event_log(settings: Settings) -> AsyncIterator[Log]:
    nc, js = await connect(settings, "test-writer")
    try:
        yield Log(EventStore(nc, js, settings), nc)
    finally:
        await nc.close()


async def test_a_connection_needs_a_valid_token(settings: Settings) -> None:
    async with live_gateway(settings) as (settings, http):
        with pytest.raises(InvalidStatus) as missing:
            async with websockets.connect(ws_url(settings)):
                pass
        assert missing.value.response.status_code == 401
        assert b"missing bearer token" in missing.value.response.body
        with pytest.raises(InvalidStatus) as forged:
            async with websockets.connect(ws_url(settings), additional_headers={"Authorization": "Bearer nope"}):
                pass
        assert forged.value.response.status_code == 401
        # Browsers pass the token in the query string.
        async with websockets.connect(ws_url(settings, f"?token={token(settings, 'viewer')}")) as ws:
            await send(ws, "ping", data={"n": 1}, id="p1")
            pong = await recv(ws)
            assert (pong["id"], pong["type"], pong["data"]) == ("p1", "pong", {"n": 1}) and pong["timestamp"]
        plain = await http.get("/ws")
        assert plain.status_code == 426
        assert plain.headers["content-type"] == "application/problem+json"


async def test_bad_messages_get_errors_naming_the_field(settings: Settings) -> None:
    async with live_gateway(settings) as (settings, _), connect_ws(settings, "developer") as ws:
        cases: list[tuple[Any, str | None, int]] = [
            ("not json", None, 400),
            ({"type": "shout"}, "type", 400),
            ({"type": "subscribe"}, "topic", 400),
            ({"type": "subscribe", "topic": "weather.today"}, "topic", 400),
            ({"type": "subscribe", "topic": "task.has space"}, "topic", 400),
            ({"type": "subscribe", "topic": "task.*", "data": {"after_seq": -1}}, "data.after_seq", 400),
            ({"type": "subscribe", "topic": "task.*", "data": {"since": 3}}, "data.since", 400),
            # A developer may not watch alerts (the permission matrix): 403, not a silent nothing.
            ({"type": "subscribe", "topic": "alerts.critical"}, "topic", 403),
        ]
        for i, (body, field, status) in enumerate(cases):
            await ws.send(body if isinstance(body, str) else json.dumps({"id": f"m{i}", **body}))
            reply = await recv(ws)
            assert reply["type"] == "error", (body, reply)
            assert reply["data"]["status"] == status, (body, reply)
            assert reply["data"].get("field") == field, (body, reply)
        # The connection survives every one of them.
        await send(ws, "ping", id="still-here")
        assert (await recv(ws))["id"] == "still-here"


async def test_topics_need_their_permission(settings: Settings) -> None:
    async with live_gateway(settings) as (settings, _):
        async with connect_ws(settings, "agent") as ws:
            await send(ws, "subscribe", "task.*")
            reply = await recv(ws)
            assert reply["type"] == "error" and reply["data"]["status"] == 403
            assert "tasks.view" in reply["data"]["detail"]
        async with connect_ws(settings, "viewer") as ws:
            for topic in ("task.*", "agent.*", "execution.*", "alerts.*", "cluster.status"):
                await subscribe(ws, topic)


async def test_events_arrive_in_stream_order_and_unsubscribe_stops_them(settings: Settings) -> None:
    async with live_gateway(settings) as (settings, _), event_log(settings) as log:
        other, _ = await log.create()
        async with connect_ws(settings) as ws:
            task_id, _ = await log.create()
            await subscribe(ws, f"task.{task_id}")
            seqs = [await log.append(task_id, TaskQueued(attempt=n)) for n in range(1, 6)]
            await log.append(other, TaskQueued(attempt=1))  # not this topic: never sent
            got = [await recv(ws) for _ in seqs]
            assert [m["seq"] for m in got] == seqs
            assert all(m["type"] == "data" and m["topic"] == f"task.{task_id}" for m in got)
            assert [m["data"]["data"]["attempt"] for m in got] == [1, 2, 3, 4, 5]
            assert got[0]["data"]["type"] == "task.queued.v1" and got[0]["data"]["aggregate_id"] == task_id
            await send(ws, "unsubscribe", f"task.{task_id}", id="u")
            assert (await recv(ws))["data"] == {"unsubscribed": True}
            await log.append(task_id, TaskQueued(attempt=6))
            await send(ws, "ping", id="after")
            assert (await recv(ws))["id"] == "after"  # the ping's pong, not the unsubscribed event


async def test_reconnecting_with_the_last_seq_gets_exactly_what_was_missed(settings: Settings) -> None:
    """A writer appends all along; across a disconnect the client sees every event of its topic once, in order."""
    async with live_gateway(settings) as (settings, _), event_log(settings) as log:
        task_id, first = await log.create()
        written = [first]
        writing = True

        async def writer() -> None:
            n = 0
            while writing and n < 400:  # bounded: a resume must stay within the replay limit on a slow box
                n += 1
                written.append(await log.append(task_id, TaskQueued(attempt=n)))
                if n % 7 == 0:
                    await log.create()  # other topics interleave in the stream

        appender = asyncio.create_task(writer())
        seen: list[int] = []
        try:
            for _ in range(3):  # three sessions: live from the start, then two resumes
                async with connect_ws(settings) as ws:
                    await subscribe(ws, f"task.{task_id}", after_seq=seen[-1] if seen else 0)
                    for _ in range(40):
                        seen.append((await recv(ws))["seq"])
        finally:
            writing = False
            await appender
        assert seen == sorted(set(seen)), "duplicate or out of order"
        assert seen == written[: len(seen)], "gap"


class StalledClient:
    """A WebSocket client that subscribes and then reads nothing until told to: its socket (small receive
    buffer, no autotuning) and the gateway's fill up. Framing by websockets' own sans-I/O protocol."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.protocol = ClientProtocol(parse_uri(ws_url(settings)), max_size=None)

    async def open(self, topic: str) -> None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (self.settings.gateway_host, self.settings.gateway_port))
        self.reader, self.writer = await asyncio.open_connection(sock=sock)
        request = self.protocol.connect()
        request.headers["Authorization"] = f"Bearer {token(self.settings, 'viewer')}"
        self.protocol.send_request(request)
        self.writer.write(b"".join(self.protocol.data_to_send()))
        while self.protocol.state is State.CONNECTING:
            self.protocol.receive_data(await asyncio.wait_for(self.reader.read(1 << 16), RECV_S))
        assert self.protocol.state is State.OPEN, self.protocol.handshake_exc
        self.protocol.send_text(json.dumps({"id": "s", "type": "subscribe", "topic": topic}).encode())
        self.writer.write(b"".join(self.protocol.data_to_send()))
        assert (await self.next())["type"] == "subscribe"

    async def next(self) -> dict[str, Any]:
        """The next text message; ConnectionClosed once the server has closed."""
        while True:
            for event in self.protocol.events_received():
                if isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                    return json.loads(event.data)  # type: ignore[no-any-return]
            if self.protocol.state is State.CLOSED:
                raise self.protocol.close_exc
            data = await asyncio.wait_for(self.reader.read(1 << 20), RECV_S)
            if data:
                self.protocol.receive_data(data)
            else:
                self.protocol.receive_eof()
            # Answer what the protocol must (the close handshake), or the server waits out its close timeout.
            if not self.writer.is_closing():
                self.writer.write(b"".join(self.protocol.data_to_send()))

    def close(self) -> None:
        self.writer.close()


async def _seqs_of(ws: Any, n: int) -> list[int]:
    return [(await recv(ws))["seq"] for _ in range(n)]


async def test_a_stalled_client_is_cut_off_others_keep_receiving_and_it_resumes(settings: Settings) -> None:
    prompt = "x" * 500_000  # 20 MB in all: far more than the stalled client's socket buffers hold
    async with live_gateway(settings, ws_queue_size=8) as (settings, _), event_log(settings) as log:
        slow = StalledClient(settings)
        await slow.open("task.*")
        try:
            async with connect_ws(settings, max_size=None) as fast:
                await subscribe(fast, "task.*")
                # The fast client reads as events arrive (its queue holds 8 too: 20 MB would not fit).
                received = asyncio.create_task(_seqs_of(fast, 40))
                seqs = [(await log.create(prompt))[1] for _ in range(40)]
                assert await received == seqs
            got, closed = [], None
            try:
                while True:
                    got.append((await slow.next())["seq"])
            except ConnectionClosed as err:
                closed = err
            assert closed.rcvd is not None and closed.rcvd.code == 1013, closed
            assert "slow consumer" in closed.rcvd.reason
            assert got == seqs[: len(got)] and len(got) < len(seqs)
        finally:
            slow.close()
        async with connect_ws(settings, max_size=None) as again:
            reply = await subscribe(again, "task.*", after_seq=got[-1] if got else 0)
            assert reply["data"]["replayed"] == len(seqs) - len(got)
            assert got + [(await recv(again))["seq"] for _ in range(len(seqs) - len(got))] == seqs


async def test_a_replay_too_long_is_refused_with_the_reason(settings: Settings) -> None:
    async with live_gateway(settings, ws_replay_limit=3) as (settings, _), event_log(settings) as log:
        for _ in range(5):
            await log.create()
        async with connect_ws(settings) as ws:
            await send(ws, "subscribe", "task.*", {"after_seq": 0})
            reply = await recv(ws)
            assert reply["type"] == "error" and reply["data"]["field"] == "data.after_seq"
            assert "5 events to replay" in reply["data"]["detail"]
            await subscribe(ws, "task.*", after_seq=3)  # within the limit: fine


async def test_token_chunks_reach_task_subscribers(settings: Settings) -> None:
    async with live_gateway(settings) as (settings, _), event_log(settings) as log:
        task_id, _ = await log.create()
        async with connect_ws(settings) as ws:
            await subscribe(ws, f"task.{task_id}")
            for i, text in enumerate(["one", " two", " three"]):
                await log.nc.publish(f"{settings.prefix}.live.task.{task_id}",  # as a sidecar does
                                            dispatch_encoder.encode(TokenChunk(attempt=1, index=i, text=text)))
            chunks = [(await recv(ws))["data"] for _ in range(3)]
            assert [(c["type"], c["index"], c["text"]) for c in chunks] == [
                ("task.tokens", 0, "one"), ("task.tokens", 1, " two"), ("task.tokens", 2, " three")]


async def test_cluster_status_is_pushed_from_the_read_model(settings: Settings) -> None:
    async with live_gateway(settings, ws_status_interval_s=0.05) as (settings, _), connect_ws(settings) as ws:
        await insert_task(settings, uuid7(), created_at=datetime.now(UTC), status="queued")
        await subscribe(ws, "cluster.status")
        while (msg := await recv(ws))["data"]["tasks"].get("queued") != 1:
            pass  # snapshots taken before the row was visible
        assert msg["topic"] == "cluster.status" and msg["type"] == "data"
