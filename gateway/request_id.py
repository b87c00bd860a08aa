"""Gives every request an id (the caller's X-Request-Id when sane, else a new UUIDv7), echoed on the response."""

from __future__ import annotations

import re
from typing import Any

from litestar.connection import ASGIConnection
from litestar.types import Message, Scope

from core.ids import uuid7

HEADER = "X-Request-Id"
_SANE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_STATE_KEY = "request_id"
_HEADER_KEY = HEADER.lower().encode()


def request_id_of_scope(scope: Scope) -> str:
    """The request's id, made on first use and kept in the scope's state."""
    state = scope.setdefault("state", {})  # type: ignore[typeddict-item]
    request_id = state.get(_STATE_KEY)
    if request_id is None:
        incoming = next((value for name, value in scope["headers"] if name == _HEADER_KEY), b"").decode("latin-1")
        # The id becomes an event's correlation_id, so only a short, plain token is taken from outside.
        request_id = state[_STATE_KEY] = incoming if _SANE.match(incoming) else uuid7()
    assert isinstance(request_id, str)
    return request_id


def request_id_of(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    return request_id_of_scope(connection.scope)


async def add_request_id(message: Message, scope: Scope) -> None:
    """Litestar before_send hook: it sees every response, errors raised in any middleware included."""
    if message["type"] == "http.response.start":
        # Appended as raw bytes: Litestar's header helpers parse the whole list on every response.
        message["headers"] = [*message.get("headers", ()), (_HEADER_KEY, request_id_of_scope(scope).encode("latin-1"))]
