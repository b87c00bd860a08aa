"""Ollama executor against a real (fake) Ollama HTTP server: streaming, tokens/s, error mapping."""

from __future__ import annotations

import asyncio
import socket

from agent_sidecar.config import OllamaExecutorConfig
from agent_sidecar.executors import http11
from agent_sidecar.executors.ollama import OllamaExecutor
from core.messages import Dispatch
from tests.fakes.ollama_server import FakeOllama
from tests.helpers import wait_until


def job(model: str | None = "llama3", **fields: object) -> Dispatch:
    return Dispatch(task_id="t-1", attempt=1, title="t", prompt="say hi", model=model, **fields)  # type: ignore[arg-type]


def ollama(url: str, **fields: object) -> OllamaExecutor:
    return OllamaExecutor(OllamaExecutorConfig(url=url, **fields))  # type: ignore[arg-type]


async def test_streams_chunks_in_order_and_measures_tokens_per_second() -> None:
    chunks: list[str] = []

    async def on_chunk(text: str) -> None:
        chunks.append(text)

    async with FakeOllama({"llama3": "the quick brown fox jumps"}, ns_per_token=20_000_000) as server:
        result = await ollama(server.url, options={"temperature": 0.1}).run(
            job(payload={"options": {"num_ctx": 4096}}), on_chunk
        )
    assert result.ok, result.error
    assert chunks == ["the", " quick", " brown", " fox", " jumps"]
    assert result.output == "the quick brown fox jumps"
    assert result.metrics["eval_count"] == 5
    assert result.metrics["tokens_per_s"] == 50.0
    assert result.metrics["eval_duration_s"] == 0.1
    assert server.requests == [
        {"model": "llama3", "prompt": "say hi", "stream": True, "options": {"temperature": 0.1, "num_ctx": 4096}}
    ]


async def test_default_model_when_the_task_names_none() -> None:
    async with FakeOllama({"qwen": "ok"}) as server:
        result = await ollama(server.url, default_model="qwen").run(job(model=None), None)
    assert result.ok and result.output == "ok"


async def test_no_model_at_all_is_not_retryable() -> None:
    result = await ollama("http://127.0.0.1:9").run(job(model=None), None)
    assert not result.ok and not result.retryable and "no model" in result.error


async def test_unknown_model_is_a_non_retryable_failure_with_the_servers_message() -> None:
    async with FakeOllama({"llama3": "hi"}) as server:
        result = await ollama(server.url).run(job(model="mystery"), None)
    assert not result.ok and not result.retryable
    assert "404" in result.error and "model 'mystery' not found" in result.error


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_server_down_is_retryable() -> None:
    result = await ollama(f"http://127.0.0.1:{closed_port()}").run(job(), None)
    assert not result.ok and result.retryable and "cannot reach ollama" in result.error


async def test_stream_cut_short_is_retryable() -> None:
    async with FakeOllama({"llama3": "one two three"}) as server:
        server.flowing.clear()
        received: list[str] = []

        async def on_chunk(text: str) -> None:
            received.append(text)

        run = asyncio.create_task(ollama(server.url).run(job(), on_chunk))
        await wait_until(lambda: server.requests, what="the request to arrive")
        await server.stop()
        result = await run
    assert not result.ok and result.retryable


async def test_cancel_mid_stream_closes_the_connection() -> None:
    async with FakeOllama({"llama3": "one two three"}) as server:
        server.flowing.clear()
        run = asyncio.create_task(ollama(server.url).run(job(), None))
        await wait_until(lambda: server.requests, what="the request to arrive")
        run.cancel()
        try:
            await run
        except asyncio.CancelledError:
            pass
        assert run.cancelled()


async def test_tags_and_content_length_bodies() -> None:
    async with FakeOllama({"a": "x", "b": "y"}) as server:
        async with await http11.request("GET", server.url + "/api/tags") as response:
            assert response.status == 200
            assert b'"name":"a"' in await response.read()
