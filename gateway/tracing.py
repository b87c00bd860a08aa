"""A SERVER span per HTTP request, installed only when tracing is configured; events appended while the
request runs carry its traceparent (core.tracing.REQUEST_TRACEPARENT), so the coordinator's placement joins it."""

from __future__ import annotations

from litestar.types import ASGIApp, Message, Receive, Scope, Send
from opentelemetry.trace import SpanKind, Status, StatusCode

from core.tracing import REQUEST_TRACEPARENT, Tracing, activate, deactivate, traceparent
from gateway.errors import status_of
from gateway.raw_http import header


class TracingMiddleware:
    """App-level, so it runs after routing: the span is named by route template (`POST /api/tasks`), never the
    raw path. A client's own `traceparent` header makes the request a child of the client's trace."""

    def __init__(self, app: ASGIApp, *, tracing: Tracing) -> None:
        self.app = app
        self._tracing = tracing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]  # type: ignore[typeddict-item]  # an http scope (checked above)
        route = scope.get("path_template") or scope["path"]
        parent = header(scope, b"traceparent")
        span = self._tracing.start(f"{method} {route}", parent.decode("latin-1") if parent else None,
                                   kind=SpanKind.SERVER, attributes={
                                       "http.request.method": method, "http.route": route, "url.path": scope["path"]})
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        token, request = activate(span), REQUEST_TRACEPARENT.set(traceparent(span))
        try:
            await self.app(scope, receive, send_status)
        except BaseException as exc:
            status = status_of(exc)  # errors raised by middleware (401, 403, 429) are answered outside this one
            if status >= 500:
                span.record_exception(exc)
            raise
        finally:
            REQUEST_TRACEPARENT.reset(request)
            deactivate(token)
            span.set_attribute("http.response.status_code", status)
            if status >= 500:
                span.set_status(Status(StatusCode.ERROR))
            span.end()
