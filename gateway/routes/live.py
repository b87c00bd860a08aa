"""WS /ws: authenticate the handshake (header or `?token=`), then serve one LiveSession until disconnect."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, cast
from urllib.parse import parse_qs

import msgspec
from litestar import asgi
from litestar.exceptions import NotAuthorizedException
from litestar.types import Receive, Scope, Send

from core.metrics import WEBSOCKET_CONNECTIONS
from gateway.auth import Principal
from gateway.errors import PROBLEM_JSON, problem_of
from gateway.live.client import LiveClient
from gateway.live.session import LiveSession
from gateway.live.ws_protocol import WRITE_FRAME, WriteFrame
from gateway.raw_http import header
from gateway.services import Services

POLICY_VIOLATION = 1008
RawSend = Callable[[dict[str, Any]], Awaitable[None]]


@asgi("/ws", is_mount=False, copy_scope=False)
async def ws(scope: Scope, receive: Receive, send: Send) -> None:
    """The live endpoint; see the README's WebSocket section for the protocol."""
    raw: RawSend = cast(RawSend, send)  # Litestar's event TypedDicts lack the http.response extension
    services = scope["litestar_app"].state["services"]
    assert isinstance(services, Services)
    if scope["type"] != "websocket":
        await _problem(raw, 426, "connect with a WebSocket upgrade (GET /ws, Upgrade: websocket)",
                       extra=[(b"upgrade", b"websocket")])
        return
    if (await receive())["type"] != "websocket.connect":
        return
    try:
        principal = _principal(scope, services)
    except NotAuthorizedException as err:
        await _refuse(scope, raw, err.detail)
        return
    await raw({"type": "websocket.accept"})
    direct = cast("dict[str, WriteFrame] | None", (scope.get("extensions") or {}).get(WRITE_FRAME))
    client = LiveClient(raw, principal.subject, max_queue=services.settings.ws_queue_size,
                        write_frame=direct["write"] if direct else None)
    session = LiveSession(services.hub, client, principal)
    client.start()
    WEBSOCKET_CONNECTIONS.inc()
    try:
        while True:
            event = await receive()
            if event["type"] == "websocket.disconnect":
                return
            if event["type"] == "websocket.receive":
                await session.handle(event.get("text") or event.get("bytes") or b"")
    finally:
        WEBSOCKET_CONNECTIONS.dec()
        services.hub.disconnect(client)
        await client.stop()


def _principal(scope: Scope, services: Services) -> Principal:
    raw = header(scope, b"authorization")
    if raw is not None:
        return services.authenticator.from_header(raw)
    # Browsers cannot set headers on a WebSocket: they may pass the token in the query string instead.
    tokens = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token")
    if tokens:
        return services.authenticator.from_token(tokens[0])
    return services.authenticator.from_header(None)  # raises the usual 401


async def _refuse(scope: Scope, send: RawSend, detail: str) -> None:
    """Answer the handshake with 401 and a problem body where the server can; else close it (1008)."""
    if "websocket.http.response" in (scope.get("extensions") or {}):
        body = _body(401, detail)
        await send({"type": "websocket.http.response.start", "status": 401, "headers": [
            (b"content-type", PROBLEM_JSON.encode()), (b"content-length", b"%d" % len(body)),
            (b"www-authenticate", b"Bearer")]})
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": POLICY_VIOLATION, "reason": detail[:120]})


def _body(status: int, detail: str) -> bytes:
    return msgspec.json.encode(problem_of(status, detail))


async def _problem(send: RawSend, status: int, detail: str, extra: list[tuple[bytes, bytes]]) -> None:
    body = _body(status, detail)
    headers: list[Any] = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", b"%d" % len(body)), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
