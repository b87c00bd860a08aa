"""uvicorn's httptools protocol with one socket write per response instead of two (head, then body).

uvicorn writes the status line and headers as soon as the app sends `http.response.start`, and the body
on `http.response.body`: two syscalls and two TCP segments, which the client also reads twice. Writes made
during one turn of the event loop are joined here and sent at the end of that turn, in order.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class _CoalescingTransport:
    """A transport proxy: `write` buffers until the loop's next turn; everything else passes through."""

    __slots__ = ("_transport", "_loop", "_chunks")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._chunks: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._chunks:
            self._loop.call_soon(self._flush)
        self._chunks.append(data)

    def _flush(self) -> None:
        chunks = self._chunks
        if chunks:
            self._chunks = []
            if not self._transport.is_closing():
                self._transport.write(chunks[0] if len(chunks) == 1 else b"".join(chunks))

    def close(self) -> None:
        self._flush()  # a response written just before `Connection: close` still goes out first
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_CoalescingTransport(transport, asyncio.get_running_loop()))  # type: ignore[arg-type]

    def handle_websocket_upgrade(self) -> None:
        # A WebSocket gets the plain transport: it writes one frame per message, so there is nothing to join,
        # and a deferred write would hold every frame of a fan-out until the hub had queued all of them.
        if isinstance(self.transport, _CoalescingTransport):
            self.transport._flush()
            self.transport = self.transport._transport  # type: ignore[assignment]
        super().handle_websocket_upgrade()
