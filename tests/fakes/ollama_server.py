"""A real HTTP/1.1 server speaking Ollama's streaming /api/generate and /api/tags, for tests.

    async with FakeOllama({"llama3": "the quick brown fox"}) as ollama:
        ...  # point an executor at ollama.url

Replies stream word by word as chunked NDJSON. Timings are fixed (`ns_per_token` per word), so
tokens/s is exact: 1e9 / ns_per_token. Unknown models get 404 {"error": "model 'x' not found"}.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType
from typing import Any

import orjson


class FakeOllama:
    def __init__(self, models: dict[str, str] | None = None, *, ns_per_token: int = 10_000_000) -> None:
        # model name -> the reply it streams (split on spaces, each word one chunk).
        self.models = dict(models or {"llama3": "hello from the fake ollama"})
        self.ns_per_token = ns_per_token
        self.requests: list[dict[str, Any]] = []
        # Models a generate request has loaded (GET /api/ps lists them).
        self.loaded: set[str] = set()
        # Cleared: streaming pauses before each chunk until set (lets a test hold a generation open).
        self.flowing = asyncio.Event()
        self.flowing.set()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> FakeOllama:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            # Let paused generations run into their closed connections and end.
            self.flowing.set()
            for writer in list(self._writers):
                writer.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> FakeOllama:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            method, path, body = await _read_request(reader)
            if method == "GET" and path == "/api/version":
                await _send_json(writer, 200, {"version": "0.5.7"})
            elif method == "GET" and path == "/api/ps":
                # As Ollama: the models loaded in memory (here: those that generated), with their VRAM.
                await _send_json(writer, 200, {"models": [
                    {"name": name, "model": name, "size_vram": 4_000_000_000} for name in sorted(self.loaded)]})
            elif method == "GET" and path == "/api/tags":
                await _send_json(writer, 200, {"models": [{"name": name, "model": name} for name in self.models]})
            elif method == "POST" and path == "/api/generate":
                await self._generate(writer, orjson.loads(body or b"{}"))
            else:
                await _send_json(writer, 404, {"error": f"no route {method} {path}"})
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _generate(self, writer: asyncio.StreamWriter, request: dict[str, Any]) -> None:
        self.requests.append(request)
        model = request.get("model", "")
        if model not in self.models:
            await _send_json(writer, 404, {"error": f"model '{model}' not found"})
            return
        self.loaded.add(model)
        words = self.models[model].split(" ")
        if request.get("stream", True) is False:
            await _send_json(writer, 200, self._final(model, " ".join(words), len(words)))
            return
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n")
        for index, word in enumerate(words):
            await self.flowing.wait()
            piece = word if index == 0 else " " + word
            line = {"model": model, "created_at": "2024-01-01T00:00:00Z", "response": piece, "done": False}
            await _send_chunk(writer, orjson.dumps(line) + b"\n")
        await _send_chunk(writer, orjson.dumps(self._final(model, "", len(words))) + b"\n")
        await _send_chunk(writer, b"")

    def _final(self, model: str, response: str, tokens: int) -> dict[str, Any]:
        eval_ns = tokens * self.ns_per_token
        return {
            "model": model, "created_at": "2024-01-01T00:00:01Z", "response": response, "done": True,
            "done_reason": "stop", "context": [1, 2, 3], "total_duration": eval_ns + 5_000_000,
            "load_duration": 1_000_000, "prompt_eval_count": 3, "prompt_eval_duration": 2_000_000,
            "eval_count": tokens, "eval_duration": eval_ns,
        }


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str, bytes]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    request_line, *header_lines = head.split("\r\n")
    method, path, _version = request_line.split(" ", 2)
    headers = {k.strip().lower(): v.strip() for k, v in (h.split(":", 1) for h in header_lines if ":" in h)}
    length = int(headers.get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    return method, path, body


async def _send_json(writer: asyncio.StreamWriter, status: int, payload: dict[str, Any]) -> None:
    body = orjson.dumps(payload)
    reason = {200: "OK", 404: "Not Found"}.get(status, "Error")
    writer.write(
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n".encode() + body
    )
    await writer.drain()


async def _send_chunk(writer: asyncio.StreamWriter, data: bytes) -> None:
    writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
    await writer.drain()
