"""Small helpers for route middlewares that answer on the raw ASGI interface (see projected_task, submit_task)."""

from __future__ import annotations

from collections.abc import Iterable

from litestar.exceptions import InternalServerException
from litestar.types import Receive, Scope, Send

JSON = b"application/json"


def header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of header `name` (lowercase), as sent."""
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None


def is_json(content_type: bytes | None) -> bool:
    """application/json or any +json type; no Content-Type counts as JSON (as the handlers have always taken it)."""
    if content_type is None:
        return True
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == JSON or media.endswith(b"+json")


async def read_body(receive: Receive, length: int) -> bytes:
    """The request body whose Content-Length (already checked against the route's limit) is `length`."""
    chunks: list[bytes] = []
    received = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise InternalServerException("client disconnected prematurely")
        chunk = message.get("body", b"")
        assert isinstance(chunk, bytes)
        if chunk:
            received += len(chunk)
            if received > length:  # the server enforces Content-Length; this only guards the buffer
                raise InternalServerException("request body longer than its Content-Length")
            chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def send_json(send: Send, status: int, body: bytes, headers: Iterable[tuple[bytes, bytes]] = ()) -> None:
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", JSON), (b"content-length", b"%d" % len(body)), *headers],
    })
    await send({"type": "http.response.body", "body": body, "more_body": False})
