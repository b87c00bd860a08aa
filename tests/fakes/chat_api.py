"""A real HTTP/1.1 server standing in for an OpenAI-style chat API, for workflow tests.

    async with ChatApi() as api:     # POST /v1/chat/completions answers a completion naming the model;
        api.url                      # POST /down answers 503 (an overloaded primary)
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType
from typing import Any

import orjson


class ChatApi:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.port = 0
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> ChatApi:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *lines = head.decode("latin-1").split("\r\n")
            method, path, _ = request_line.split(" ", 2)
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines if line)}
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            request = orjson.loads(body) if body else None
            self.requests.append({"method": method, "path": path, "body": request, "headers": headers})
            answer: dict[str, Any]
            if path == "/down":
                status, answer = 503, {"error": {"message": "overloaded"}}
            else:
                model = request.get("model") if isinstance(request, dict) else None
                status, answer = 200, {"model": model, "choices": [{"message": {"role": "assistant",
                                                                                "content": f"answer from {model}"}}]}
            payload = orjson.dumps(answer)
            writer.write(f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
                         "Connection: close\r\n\r\n".encode() + payload)
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
