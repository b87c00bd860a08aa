"""WS /ws end to end: a task created over HTTP runs on a real sidecar streaming from (fake) Ollama; a
`websockets` client subscribed to its topic sees its events in stream order and its tokens in order."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from core.settings import Settings
from core.store.connect import connect
from core.store.event_store import EventStore
from tests.e2e.flow import LIFECYCLE, token
from tests.e2e.processes import ProcessStack
from tests.fakes.ollama_server import FakeOllama

pytestmark = pytest.mark.e2e

REPLY = "the quick brown fox jumps over the lazy dog while hive streams every word"
DEADLINE_S = 60.0


async def recv(ws: ClientConnection, deadline: float) -> dict[str, Any]:
    """The next message, failing once the test's deadline (a loop.time()) has passed."""
    remaining = deadline - asyncio.get_running_loop().time()
    if remaining <= 0:
        raise AssertionError("timed out waiting for WebSocket messages")
    return json.loads(await asyncio.wait_for(ws.recv(), remaining))  # type: ignore[no-any-return]


async def subscribe(ws: ClientConnection, topic: str, deadline: float) -> None:
    await ws.send(json.dumps({"id": "s", "type": "subscribe", "topic": topic}))
    reply = await recv(ws, deadline)
    assert reply["type"] == "subscribe" and reply["data"]["subscribed"], reply


async def stream_raw(settings: Settings) -> list[bytes]:
    """Every stored event of this test's stream, raw."""
    nc, js = await connect(settings, "e2e-ws-check")
    try:
        last = (await js.stream_info(settings.events_stream)).state.last_seq
        return [(await js.get_msg(settings.events_stream, seq)).data or b"" for seq in range(1, last + 1)]
    finally:
        await nc.close()


async def test_a_task_streams_its_events_and_tokens_to_a_subscriber(settings: Settings, stack: ProcessStack) -> None:
    async with FakeOllama({"llama3": REPLY}) as ollama:
        config = stack.home / "ollama.toml"
        config.write_text('agent_id = "e2e-ollama"\nmax_concurrency = 2\nmodels = ["llama3"]\n'
                          f'[capabilities]\nsummarize = 0.9\n[executor]\ntype = "ollama"\nurl = "{ollama.url}"\n')
        stack.start("sidecar-ollama", "--config", str(config))
        deadline = asyncio.get_running_loop().time() + DEADLINE_S
        headers = {"Authorization": f"Bearer {token(settings)}"}
        ws_url = stack.gateway_url.replace("http://", "ws://") + "/ws"
        async with websockets.connect(ws_url, additional_headers=headers) as ws, \
                httpx.AsyncClient(base_url=stack.gateway_url, headers=headers, timeout=30) as http:
            # No permessage-deflate: it would compress each event once per subscriber (gateway/server.py).
            assert not ws.protocol.extensions
            # Subscribed to every task before the task exists: nothing of it can be missed.
            await subscribe(ws, "task.*", deadline)
            r = await http.post("/api/tasks", json={"title": "stream", "prompt": "tell me about foxes",
                                                    "capabilities": ["summarize"], "model": "llama3"})
            assert r.status_code == 201, r.text
            task_id = r.json()["id"]
            events: list[dict[str, Any]] = []
            chunks: list[dict[str, Any]] = []
            words = REPLY.split(" ")
            # Chunks (core NATS) and events (JetStream) reach the gateway by different routes, so the last
            # chunks may come after `completed`: read until both are complete, or the deadline.
            while not (events and events[-1]["data"]["type"] == "task.completed.v1" and len(chunks) >= len(words)):
                if events and events[-1]["data"]["type"] == "task.failed.v1":
                    break  # the assertions below say how
                msg = await recv(ws, deadline)
                assert msg["type"] == "data" and msg["topic"] == f"task.{task_id}", msg
                (chunks if msg["data"]["type"] == "task.tokens" else events).append(msg)

    seqs = [m["seq"] for m in events]
    assert seqs == sorted(set(seqs)), f"stream order: {seqs}"
    assert [m["data"]["type"] for m in events] == LIFECYCLE
    assert all(m["data"]["aggregate_id"] == task_id and m["id"] == str(m["seq"]) for m in events)

    output = events[-1]["data"]["data"]["result"]["output"]
    assert output == REPLY
    assert [(c["data"]["attempt"], c["data"]["index"]) for c in chunks] == [(1, i) for i in range(len(words))]
    assert "".join(c["data"]["text"] for c in chunks) == output

    nc, js = await connect(settings, "e2e-ws-history")
    try:
        history = await EventStore(nc, js, settings).load("task", task_id)
    finally:
        await nc.close()
    assert [r.seq for r in history] == seqs, "the subscriber saw the task's whole history, nothing else"
    stored = await stream_raw(settings)
    assert sum(raw.count(output.encode()) for raw in stored) == 1, "the output is stored once, tokens never"
