"""OpenTelemetry tracing for Hive's services, off unless configured, and the W3C `traceparent` carried in NATS
headers so that one trace runs from the HTTP request through placement and execution to completion.

A service holds `Tracing | None`: None (HIVE_OTEL_EXPORTER=none, the default) means no tracer, no span
objects and no header reading at all, so the hot path pays one `is None` test where a span could start.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import NonRecordingSpan, Span, SpanContext, SpanKind, TraceFlags

from core.errors import ConfigError
from core.settings import Settings

if TYPE_CHECKING:  # the SDK is imported only where tracing is configured
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

TRACEPARENT = "traceparent"
EXPORTERS = ("none", "console", "otlp")
DEFAULT_OTLP_ENDPOINT = "http://127.0.0.1:4318/v1/traces"
_TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_HEADER = b"\r\ntraceparent:"

Attributes = Mapping[str, str | int | float | bool]


class Tracing:
    """One service's tracer (service.name = `service`), exporting through its own provider."""

    def __init__(self, provider: TracerProvider, service: str) -> None:
        self.provider = provider
        self.service = service
        self.tracer = provider.get_tracer(f"hive.{service}")

    def start(self, name: str, parent: str | None = None, *, kind: SpanKind = SpanKind.INTERNAL,
              attributes: Attributes | None = None, start_time: int | None = None) -> Span:
        """A span, child of the remote span `parent` names (a traceparent), or the current span, or a new trace."""
        return self.tracer.start_span(name, context=context_of(parent), kind=kind, attributes=attributes,
                                      start_time=start_time)

    def shutdown(self) -> None:
        """Export what is buffered and stop (at the end of the service)."""
        self.provider.shutdown()


def tracing_with(service: str, exporter: SpanExporter, *, batch: bool = True) -> Tracing:
    """A Tracing exporting to `exporter`: batched in the background, or (tests) as each span ends."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter))
    return Tracing(provider, service)


def configure_tracing(settings: Settings, service: str) -> Tracing | None:
    """The service's Tracing as HIVE_OTEL_EXPORTER says, or None (off); ConfigError for a value that cannot work."""
    name = settings.otel_exporter.strip().lower()
    if name == "none":
        return None
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return tracing_with(service, ConsoleSpanExporter(service_name=service))
    if name == "otlp":
        return tracing_with(service, _otlp_exporter(settings.otel_endpoint))
    raise ConfigError(f"HIVE_OTEL_EXPORTER={settings.otel_exporter!r} is not one of {', '.join(EXPORTERS)}")


def _otlp_exporter(endpoint: str | None) -> SpanExporter:
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError as err:
        raise ConfigError("HIVE_OTEL_EXPORTER=otlp needs the OTLP exporter: pip install 'hive[otlp]'") from err
    return OTLPSpanExporter(endpoint=otlp_traces_url(endpoint))


def otlp_traces_url(endpoint: str | None) -> str:
    """The collector's traces URL: HIVE_OTEL_ENDPOINT as given, with /v1/traces added to a bare host:port."""
    if not endpoint:
        return DEFAULT_OTLP_ENDPOINT
    url = urlparse(endpoint)
    if url.scheme not in ("http", "https") or not url.netloc:
        raise ConfigError(f"HIVE_OTEL_ENDPOINT={endpoint!r} must be an http(s) URL, e.g. {DEFAULT_OTLP_ENDPOINT}")
    return endpoint if url.path not in ("", "/") else endpoint.rstrip("/") + "/v1/traces"


def traceparent(span: Span) -> str:
    """The W3C traceparent naming `span` as the parent of what comes next."""
    ctx = span.get_span_context()
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"


def context_of(parent: str | None) -> Context | None:
    """An OpenTelemetry context whose span is the remote one `parent` names; None for a missing or bad value."""
    if not parent:
        return None
    match = _TRACEPARENT.fullmatch(parent.strip())
    if match is None:
        return None
    trace_id, span_id = int(match[1], 16), int(match[2], 16)
    if not trace_id or not span_id:
        return None
    remote = SpanContext(trace_id, span_id, is_remote=True, trace_flags=TraceFlags(int(match[3], 16)))
    return trace.set_span_in_context(NonRecordingSpan(remote))


def traceparent_in(block: bytes) -> str | None:
    """The traceparent in a NATS message's raw header block (b"NATS/1.0\\r\\nName: value\\r\\n...")."""
    at = block.find(_HEADER)  # lower case, as W3C propagators write it (a per-message lower() would cost more)
    if at < 0:
        return None
    start = at + len(_HEADER)
    end = block.find(b"\r\n", start)
    return block[start:end if end >= 0 else len(block)].strip().decode("latin-1")


# The traceparent of the HTTP request being served (set by the gateway's tracing middleware; None when off):
# read with one ContextVar lookup, so an append on the untraced path costs nothing more.
REQUEST_TRACEPARENT: ContextVar[str | None] = ContextVar("hive_request_traceparent", default=None)


def request_headers() -> dict[str, str] | None:
    """Headers for events appended on behalf of the current request: its traceparent, when traced."""
    value = REQUEST_TRACEPARENT.get()
    return None if value is None else {TRACEPARENT: value}


def activate(span: Span) -> object:
    """Make `span` current in this task (until `deactivate` with the returned token)."""
    return otel_context.attach(trace.set_span_in_context(span))


def deactivate(token: object) -> None:
    otel_context.detach(token)  # type: ignore[arg-type]
