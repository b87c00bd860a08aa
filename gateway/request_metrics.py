"""Times every HTTP request into hive_api_request_duration_seconds, labelled by route template and status."""

from __future__ import annotations

import time
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from core.metrics import API_ERRORS, API_REQUEST_SECONDS
from gateway.errors import status_of

# One histogram child per (method, route, status), looked up once: they are few.
_children: dict[tuple[str, str, int], Any] = {}


class RequestMetricsMiddleware:
    """App-level, so it runs after routing: the route label is the template (`/api/tasks/{task_id:str}`),
    never the raw path, which would give every task id a series of its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]  # type: ignore[typeddict-item]  # an http scope (checked above)
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        except BaseException as exc:
            # Errors raised by middleware (401, 403, 429) are answered outside this one.
            status = status_of(exc)
            raise
        finally:
            route = scope.get("path_template", "unmatched")
            key = (method, route, status)
            child = _children.get(key)
            if child is None:  # routes, methods and statuses are few: one child each, looked up once
                child = _children[key] = API_REQUEST_SECONDS.labels(method, route, str(status))
            child.observe(time.perf_counter() - started)
            if status >= 500:
                API_ERRORS.labels(route).inc()
