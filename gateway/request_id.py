"""Gives every request an id (the caller's X-Request-Id when sane, else a new UUIDv7), echoed on the response."""

from __future__ import annotations

import re
from typing import Any

from litestar.connection import ASGIConnection
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from core.ids import uuid7

HEADER = "X-Request-Id"
_SANE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_STATE_KEY = "request_id"
_HEADER_KEY = HEADER.lower().encode()


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((value for name, value in scope["headers"] if name == _HEADER_KEY), b"").decode("latin-1")
        # The id becomes an event's correlation_id, so only a short, plain token is taken from outside.
        request_id = incoming if _SANE.match(incoming) else uuid7()
        scope.setdefault("state", {})[_STATE_KEY] = request_id  # type: ignore[typeddict-unknown-key]
        header = (_HEADER_KEY, request_id.encode("latin-1"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                # Appended as raw bytes: Litestar's header helpers parse the whole list on every response.
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        await self.app(scope, receive, send_with_id)


def request_id_of(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    return request_id_of_scope(connection.scope)


def request_id_of_scope(scope: Scope) -> str | None:
    value = (scope.get("state") or {}).get(_STATE_KEY)
    return value if isinstance(value, str) else None
