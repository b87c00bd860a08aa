"""POST /api/tasks in its usual shape (JSON with a Content-Length within the limit), answered by a route middleware.

Like projected_task: it runs after routing, the request id, authentication and the permission check,
inside Litestar's error handling (a validation error raised here is the same 400 problem), and skips
building a Request, resolving dependencies and a Response. A request of any other shape (another media
type, no or a too large Content-Length) goes on to the route handler, which answers it (415, 413, ...).
"""

from __future__ import annotations

import msgspec
from litestar.types import ASGIApp, Receive, Scope, Send

from gateway.auth import Principal
from gateway.create_task import Created, create_task
from gateway.raw_http import header, is_json, read_body, send_json
from gateway.request_id import request_id_of_scope
from gateway.schemas import MAX_BODY_BYTES
from gateway.services import Services

_encode = msgspec.json.Encoder().encode


def created_headers(created: Created) -> dict[str, str]:
    headers = {"Location": f"/api/tasks/{created.task.id}"}
    if created.replayed:
        headers["Idempotent-Replayed"] = "true"
    return headers


class SubmitTaskMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        length = header(scope, b"content-length")
        if not (is_json(header(scope, b"content-type")) and length is not None and length.isdigit()
                and int(length) <= MAX_BODY_BYTES):
            await self.app(scope, receive, send)
            return
        services = scope["litestar_app"].state["services"]
        principal = scope["user"]
        assert isinstance(services, Services) and isinstance(principal, Principal)
        key = header(scope, b"idempotency-key")
        created = await create_task(services, principal, await read_body(receive, int(length)),
                                    key.decode("latin-1") if key is not None else None, request_id_of_scope(scope))
        extra = [(name.lower().encode(), value.encode()) for name, value in created_headers(created).items()]
        await send_json(send, 200 if created.replayed else 201, _encode(created.task), extra)
