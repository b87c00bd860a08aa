"""uvicorn's sans-I/O WebSocket protocol plus a synchronous write of a prebuilt frame, for the live fan-out.

An event fanned out to 1,000 clients would otherwise cost, per client, a writer task's wake-up, the ASGI
send chain (Litestar's wrappers, then uvicorn's) and the same frame built again. Server frames are not
masked, so one event's frame is the same bytes for every client: the hub builds it once and each client
hands it straight to its socket when nothing of its own is waiting (`write_frame` answers False
otherwise, and the message takes the ordinary ASGI path through the client's queue).
"""

from __future__ import annotations

from collections.abc import Callable

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

# scope["extensions"][WRITE_FRAME]["write"]: Callable[[bytes], bool], where the server offers it.
WRITE_FRAME = "hive.websocket.write_frame"
WriteFrame = Callable[[bytes], bool]


def text_frame(payload: bytes) -> bytes:
    """One whole, unmasked, uncompressed text frame (RFC 6455 section 5.2)."""
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 1 << 16:
        return b"\x81\x7e" + n.to_bytes(2, "big") + payload
    return b"\x81\x7f" + n.to_bytes(8, "big") + payload


class LiveWebSocketProtocol(WebSocketsSansIOProtocol):
    async def run_asgi(self) -> None:
        self.scope["extensions"][WRITE_FRAME] = {"write": self.write_frame}  # type: ignore[index]
        await super().run_asgi()

    def write_frame(self, frame: bytes) -> bool:
        """Write `frame` now if the connection is open and its socket takes more (not paused); else False."""
        if (not self.handshake_complete or self.close_sent or self.initial_response is not None
                or self.conn.state is not State.OPEN or self.transport.is_closing() or not self.writable.is_set()):
            return False
        self.transport.write(frame)
        return True
