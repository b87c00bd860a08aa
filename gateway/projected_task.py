"""GET /api/tasks/{id} for a task in the read model, answered by a route middleware with pre-encoded JSON.

It runs where the route handler would (after routing, the request id, authentication and the permission
check, inside Litestar's error handling) but skips building a Request, resolving parameters and
dependencies and a Response: about a third of the CPU of a read. Everything else (a malformed id, a task
not projected yet, an unknown one) goes on to the route handler, which stays the one definition of the
route's behaviour and of its OpenAPI schema.
"""

from __future__ import annotations

import re

import msgspec
from litestar.types import ASGIApp, Receive, Scope, Send

from gateway.schemas import UUID_PATTERN
from gateway.services import Services

_UUID = re.compile(UUID_PATTERN)
# The bytes Litestar would write for a TaskView: it encodes with msgspec too (its hooks only add types
# a TaskView never holds).
_encode = msgspec.json.Encoder().encode


class ProjectedTaskMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        task_id = scope["path_params"].get("task_id")
        # `as_of` asks for the task as it was, which only the log knows: the handler folds it.
        if isinstance(task_id, str) and _UUID.match(task_id) and b"as_of" not in scope["query_string"]:
            services = scope["litestar_app"].state["services"]
            assert isinstance(services, Services)
            view = await services.tasks.get(task_id)
            if view is not None:
                body = _encode(view)
                await send({
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))],
                })
                await send({"type": "http.response.body", "body": body, "more_body": False})
                return
        await self.app(scope, receive, send)
