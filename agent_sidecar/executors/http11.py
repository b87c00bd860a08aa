"""A minimal HTTP/1.1 client on asyncio streams: one request per connection, chunked or sized bodies.

Enough for talking to a local model server (Ollama) without adding an HTTP library to every GPU host.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from types import TracebackType
from urllib.parse import urlsplit

from agent_sidecar.errors import SidecarError

_MAX_HEADER_BYTES = 64 * 1024
_READ_SIZE = 64 * 1024


class HttpError(SidecarError):
    """The server broke the protocol (bad status line, truncated body)."""


class Response:
    """A response whose body has not been read yet; use as an async context manager to close it."""

    def __init__(self, status: int, reason: str, headers: dict[str, str], reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers
        self._reader = reader
        self._writer = writer

    async def __aenter__(self) -> Response:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._writer.close()

    async def iter_body(self) -> AsyncIterator[bytes]:
        """The body's bytes as they arrive (de-chunked)."""
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            async for piece in self._chunked():
                yield piece
            return
        length = self.headers.get("content-length")
        if length is not None:
            remaining = int(length)
            while remaining > 0:
                data = await self._reader.read(min(remaining, _READ_SIZE))
                if not data:
                    raise HttpError(f"connection closed with {remaining} body bytes still to come")
                remaining -= len(data)
                yield data
            return
        while data := await self._reader.read(_READ_SIZE):
            yield data

    async def _chunked(self) -> AsyncIterator[bytes]:
        while True:
            size_line = await self._reader.readline()
            if not size_line.endswith(b"\n"):
                raise HttpError("connection closed inside a chunked body")
            try:
                size = int(size_line.split(b";", 1)[0].strip(), 16)
            except ValueError as err:
                raise HttpError(f"bad chunk size line {size_line[:40]!r}") from err
            if size == 0:
                # Trailers (usually none) end with an empty line.
                while (await self._reader.readline()).strip():
                    pass
                return
            try:
                data = await self._reader.readexactly(size + 2)
            except asyncio.IncompleteReadError as err:
                raise HttpError("connection closed inside a chunk") from err
            yield data[:-2]

    async def iter_lines(self) -> AsyncIterator[bytes]:
        """Body split on newlines (for NDJSON streams); a final unterminated line is yielded too."""
        pending = b""
        async for piece in self.iter_body():
            pending += piece
            *lines, pending = pending.split(b"\n")
            for line in lines:
                yield line
        if pending:
            yield pending

    async def read(self) -> bytes:
        return b"".join([piece async for piece in self.iter_body()])


async def request(
    method: str, url: str, body: bytes = b"", *, headers: dict[str, str] | None = None, connect_timeout: float = 10.0,
    ssl_context: ssl.SSLContext | None = None,
) -> Response:
    """Send one request and read the status and headers; raises OSError/TimeoutError when unreachable.
    https verifies the server against `ssl_context` (default: the system's CAs)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HttpError(f"unsupported URL {url!r} (want http:// or https://)")
    tls = parts.scheme == "https"
    port = parts.port or (443 if tls else 80)
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(parts.hostname, port, ssl=(ssl_context or ssl.create_default_context()) if tls else None),
        timeout=connect_timeout,
    )
    try:
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        name = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname  # an IPv6 literal
        host = name if parts.port is None else f"{name}:{parts.port}"
        lines = [f"{method} {target} HTTP/1.1", f"Host: {host}", "Connection: close", f"Content-Length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        await writer.drain()
        status, reason, response_headers = await _read_head(reader)
    except BaseException:
        writer.close()
        raise
    return Response(status, reason, response_headers, reader, writer)


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, str, dict[str, str]]:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as err:
        raise HttpError("connection closed before the response headers") from err
    except asyncio.LimitOverrunError as err:
        raise HttpError("response headers too large") from err
    if len(head) > _MAX_HEADER_BYTES:
        raise HttpError("response headers too large")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    try:
        _version, code, *reason = status_line.split(" ", 2)
        status = int(code)
    except ValueError as err:
        raise HttpError(f"bad status line {status_line[:80]!r}") from err
    headers: dict[str, str] = {}
    for line in header_lines:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return status, reason[0] if reason else "", headers
