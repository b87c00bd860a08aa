"""Pure parts of the live WebSocket layer: topics, message decoding, and a client's queue and overflow policy."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.uri import parse_uri

from gateway.live.client import OVERFLOW_CODE, LiveClient
from gateway.live.ws_protocol import text_frame
from gateway.live.protocol import ProtocolError, decode_inbound, event_message, subscribe_options
from gateway.live.topics import Topic, TopicError, covers, parse_topic, topic_of_event
from gateway.permissions import Permission


@pytest.mark.parametrize(("raw", "kind", "key", "permission"), [
    ("task.0190f0e4-aaaa-7bbb-8ccc-000000000001", "task", "0190f0e4-aaaa-7bbb-8ccc-000000000001", Permission.TASKS_VIEW),
    ("task.*", "task", "*", Permission.TASKS_VIEW),
    ("agent.gpu-1", "agent", "gpu-1", Permission.AGENTS_VIEW),
    ("execution.*", "execution", "*", Permission.EXECUTIONS_VIEW),
    ("alerts.critical", "alerts", "critical", Permission.ALERTS_VIEW),
    ("cluster.status", "cluster", "status", Permission.STATUS_VIEW),
])
def test_topics_parse_with_their_permission(raw: str, kind: str, key: str, permission: Permission) -> None:
    topic = parse_topic(raw)
    assert (topic.kind, topic.key, topic.permission) == (kind, key, permission)
    assert str(topic) == raw


@pytest.mark.parametrize("raw", ["task", "task.", "weather.now", "task.a.b", "task.a b", "alerts.loud", "cluster.x",
                                 "agent." + "x" * 129, ".task"])
def test_malformed_topics_are_refused(raw: str) -> None:
    with pytest.raises(TopicError):
        parse_topic(raw)


def test_wildcards_cover_every_id_of_their_kind_only() -> None:
    concrete = Topic("task", "t1")
    assert covers(Topic("task", "*"), concrete) and covers(Topic("task", "t1"), concrete)
    assert not covers(Topic("task", "t2"), concrete) and not covers(Topic("agent", "*"), concrete)
    assert topic_of_event("agent", "gpu-1") == Topic("agent", "gpu-1")
    assert topic_of_event("workflow", "w") is None  # workflows have no topic; their executions do
    assert Topic("task", "*").replay_subject("hive") == "hive.events.task.*"
    assert Topic("alerts", "warning").replay_subject("hive") == "hive.events.system.>"
    assert Topic("cluster", "status").replay_subject("hive") is None


@pytest.mark.parametrize(("raw", "field"), [
    ('{"type": "shout"}', "type"),
    ('{"id": 5, "type": "ping"}', "id"),
    ('{"type": "subscribe", "topic": 3}', "topic"),
    ("[1, 2]", None),
    ("{", None),
])
def test_bad_messages_name_their_field(raw: str, field: str | None) -> None:
    with pytest.raises(ProtocolError) as err:
        decode_inbound(raw)
    assert err.value.field == field


def test_subscribe_options_name_fields_under_data() -> None:
    assert subscribe_options(None).after_seq is None
    assert subscribe_options({"after_seq": 7}).after_seq == 7
    for data, field in [({"after_seq": -1}, "data.after_seq"), ({"after": 1}, "data.after"), ([], "data")]:
        with pytest.raises(ProtocolError) as err:
            subscribe_options(data)
        assert err.value.field == field


def test_an_event_message_wraps_the_stored_json_unchanged() -> None:
    text = event_message(42, 'task."x"', b'{"type":"task.created.v1"}', "2026-01-01T00:00:00Z")
    assert json.loads(text) == {"id": "42", "type": "data", "topic": 'task."x"', "seq": 42,
                                "timestamp": "2026-01-01T00:00:00Z", "data": {"type": "task.created.v1"}}


class _Socket:
    """Stands in for the ASGI send of one connection; `stalled` makes every send wait forever."""

    def __init__(self, stalled: bool = False) -> None:
        self.sent: list[dict[str, Any]] = []
        self.stalled = stalled

    async def __call__(self, message: dict[str, Any]) -> None:
        if self.stalled and message["type"] == "websocket.send":
            await asyncio.Event().wait()
        self.sent.append(message)

    def texts(self) -> list[str]:
        return [m["text"] for m in self.sent if m["type"] == "websocket.send"]


async def _settled(socket: _Socket, n: int) -> None:
    for _ in range(1000):  # a bounded number of loop turns, never a timed sleep
        if len(socket.sent) >= n:
            return
        await asyncio.sleep(0)
    raise AssertionError(f"only {len(socket.sent)} of {n} messages sent")


async def test_a_full_queue_disconnects_the_client_with_1013() -> None:
    socket = _Socket(stalled=True)
    client = LiveClient(socket, "alice", max_queue=3)
    client.start()
    for seq in range(1, 6):  # one is stuck in the socket, three wait, the fifth overflows
        client.push(seq, f"m{seq}")
        await asyncio.sleep(0)
    assert client.closed
    await _settled(socket, 1)
    close = socket.sent[-1]
    assert close["type"] == "websocket.close" and close["code"] == OVERFLOW_CODE
    assert "resume with after_seq=" in close["reason"]
    client.push(6, "m6")  # ignored once closed
    await client.stop()


async def test_held_events_follow_the_replay_without_duplicates() -> None:
    socket = _Socket()
    client = LiveClient(socket, "alice", max_queue=100)
    client.start()
    replayed, other = Topic("task", "*"), Topic("agent", "a1")
    client.hold()
    client.push(5, "live-5 (also replayed)", Topic("task", "t1"))
    client.push(6, "agent-6", other)
    client.push(9, "live-9", Topic("task", "t1"))
    client.reply("ack")
    for seq in (3, 5):
        await client.put_replayed(seq, f"replay-{seq}")
    client.release(replayed, upto=7)
    await _settled(socket, 5)
    assert socket.texts() == ["ack", "replay-3", "replay-5", "agent-6", "live-9"]
    assert client.last_seq == 9
    await client.stop()


class _DirectSocket:
    """A server's synchronous frame write (ws_protocol.write_frame) that refuses while `paused`."""

    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.paused = False

    def __call__(self, frame: bytes) -> bool:
        if self.paused:
            return False
        self.log.append("direct " + _text_of(frame))
        return True


class _GatedSocket:
    """The ASGI send path, held until `gate` is set."""

    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.gate = asyncio.Event()
        self.waiting = asyncio.Event()

    async def __call__(self, message: dict[str, Any]) -> None:
        self.waiting.set()
        await self.gate.wait()
        self.log.append("asgi " + message["text"])


def _text_of(frame: bytes) -> str:
    reader = ClientProtocol(parse_uri("ws://x/ws"), state=State.OPEN)
    reader.receive_data(frame)
    events = reader.events_received()
    assert len(events) == 1 and isinstance(events[0], Frame) and events[0].opcode is Opcode.TEXT and events[0].fin
    return bytes(events[0].data).decode()


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 200_000])
def test_a_prebuilt_text_frame_is_what_a_client_parses(size: int) -> None:
    text = "é" * (size // 2) + "x" * (size % 2)
    assert _text_of(text_frame(text.encode())) == text


async def test_direct_writes_never_overtake_a_message_on_the_asgi_path() -> None:
    log: list[str] = []
    direct, socket = _DirectSocket(log), _GatedSocket(log)
    client = LiveClient(socket, "alice", max_queue=100, write_frame=direct)
    client.start()
    client.push(1, "m1", frame=text_frame(b"m1"))  # straight to the socket
    direct.paused = True
    client.push(2, "m2")  # the socket is full: queued; the writer takes it to the (held) ASGI send
    await socket.waiting.wait()
    direct.paused = False
    client.push(3, "m3")  # the socket takes more now, but m2 is still on its way: m3 must wait behind it
    assert log == ["direct m1"]
    socket.gate.set()
    for _ in range(100):  # a bounded number of loop turns, never a timed sleep
        if client.last_seq == 3:
            break
        await asyncio.sleep(0)
    assert log == ["direct m1", "asgi m2", "direct m3"] and client.last_seq == 3
    await client.stop()
