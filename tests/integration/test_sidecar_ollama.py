"""A sidecar with the ollama executor, against real NATS and the fake Ollama server."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import msgspec

from agent_sidecar.config import parse_config
from agent_sidecar.service import Sidecar
from core.messages import (
    Completed,
    Dispatch,
    Heartbeat,
    TokenChunk,
    dispatch_encoder,
    heartbeat_decoder,
    report_decoder,
    token_chunk_decoder,
)
from core.settings import Settings
from core.store.connect import connect
from tests.fakes.ollama_server import FakeOllama
from tests.helpers import wait_until


async def test_ollama_task_streams_live_tokens_and_reports_speed(settings: Settings) -> None:
    nc, js = await connect(settings, "test-client")
    agent_id = f"ollama-{uuid.uuid4().hex[:8]}"
    live: list[TokenChunk] = []

    async def on_live(msg: object) -> None:
        live.append(token_chunk_decoder.decode(msg.data))  # type: ignore[attr-defined]

    await nc.subscribe(f"{settings.prefix}.live.task.t-1", cb=on_live)
    reports = await js.pull_subscribe(settings.report_subject(agent_id, "completed"), durable="reader",
                                      stream=settings.reports_stream)
    async with FakeOllama({"llama3": "one two three four"}, ns_per_token=25_000_000) as ollama:
        config = parse_config({
            "agent_id": agent_id, "capabilities": {"summarize": 0.8}, "models": ["llama3"],
            "executor": {"type": "ollama", "url": ollama.url},
        })
        sidecar = Sidecar(settings, config)
        await sidecar.start()
        try:
            job = Dispatch(task_id="t-1", attempt=1, title="t", prompt="count", model="llama3")
            await js.publish(settings.dispatch_subject(agent_id), dispatch_encoder.encode(job))
            msgs = await wait_until(lambda: _fetch(reports), what="the Completed report")
            completed = report_decoder.decode(msgs[0].data)
            assert isinstance(completed, Completed)
            assert completed.result.output == "one two three four"
            assert completed.result.metrics["tokens_per_s"] == 40.0
            assert sidecar.heartbeat().tokens_per_s == 40.0
            await wait_until(lambda: len(live) == 4, what="live tokens")
            assert [c.text for c in live] == ["one", " two", " three", " four"]
            assert [(c.attempt, c.index) for c in live] == [(1, 0), (1, 1), (1, 2), (1, 3)]
        finally:
            await sidecar.drain()
            await nc.close()


async def _fetch(sub: object) -> list[object]:
    try:
        return await sub.fetch(1, timeout=0.2)  # type: ignore[attr-defined, no-any-return]
    except Exception:
        return []


async def test_heartbeats_carry_the_hosts_health(settings: Settings) -> None:
    """Response time, availability and the reason it is not: what the coordinator reads in the bucket."""
    settings = msgspec.structs.replace(settings, heartbeat_interval_s=0.05)
    nc, js = await connect(settings, "test-client")
    kv = await js.key_value(settings.heartbeat_bucket)
    agent_id = f"ollama-{uuid.uuid4().hex[:8]}"

    async def beat() -> Heartbeat:
        return heartbeat_decoder.decode((await kv.get(agent_id)).value)

    ollama = await FakeOllama({"llama3": "one two"}, ns_per_token=10_000_000).start()
    config = parse_config({"agent_id": agent_id, "capabilities": {"chat": 1.0}, "models": ["llama3"],
                           "executor": {"type": "ollama", "url": ollama.url}})
    sidecar = Sidecar(settings, config)
    await sidecar.start()
    try:
        first = await beat()
        assert first.available and first.error == "" and first.response_time_s == 0.0
        assert first.loaded_models == []  # nothing loaded before the first generate
        assert first.cpu_percent >= 0 and 0 < first.memory_percent <= 100
        job = Dispatch(task_id="t-h", attempt=1, title="t", prompt="p", model="llama3")
        await js.publish(settings.dispatch_subject(agent_id), dispatch_encoder.encode(job))
        await wait_until(lambda: _responded(beat), what="a heartbeat with the run's response time")
        # The model stays loaded after the run (Ollama's /api/ps): placement prefers this host for it.
        await wait_until(lambda: _loaded(beat, "llama3"), what="a heartbeat listing llama3 as loaded")
        await ollama.stop()  # the model server goes away: the host says so
        down = await wait_until(lambda: _unavailable(beat), what="a heartbeat saying ollama is down")
        assert "cannot reach ollama" in down.error
    finally:
        await sidecar.drain()
        await ollama.stop()
        await nc.close()


async def _loaded(beat: Callable[[], Awaitable[Heartbeat]], model: str) -> bool:
    return model in (await beat()).loaded_models


async def _responded(beat: Callable[[], Awaitable[Heartbeat]]) -> bool:
    return (await beat()).response_time_s > 0


async def _unavailable(beat: Callable[[], Awaitable[Heartbeat]]) -> Heartbeat | None:
    latest = await beat()
    return None if latest.available else latest
