"""GET /metrics: this gateway process's Prometheus metrics in the text exposition format (no auth, like /health)."""

from __future__ import annotations

from litestar import Response, get
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

# Litestar appends the charset itself; the library's constant carries one already.
_MEDIA_TYPE = CONTENT_TYPE_LATEST.split("; charset=")[0]


@get("/metrics", sync_to_thread=False, media_type=_MEDIA_TYPE)
def metrics() -> Response[bytes]:
    return Response(generate_latest(), media_type=_MEDIA_TYPE)
