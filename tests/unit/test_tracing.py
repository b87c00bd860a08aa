"""Tracing helpers: traceparent in and out of NATS header blocks, and what HIVE_OTEL_EXPORTER configures."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from core.errors import ConfigError
from core.settings import load_settings
from core.store.publisher import header_block
from core.tracing import (
    REQUEST_TRACEPARENT,
    configure_tracing,
    context_of,
    otlp_traces_url,
    request_headers,
    traceparent,
    traceparent_in,
    tracing_with,
)

PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_a_span_started_from_a_traceparent_continues_its_trace() -> None:
    exporter = InMemorySpanExporter()
    tracing = tracing_with("coordinator", exporter, batch=False)
    span = tracing.start("placement", PARENT)
    span.end()
    (done,) = exporter.get_finished_spans()
    assert done.context is not None and done.parent is not None
    assert f"{done.context.trace_id:032x}" == PARENT.split("-")[1]
    assert f"{done.parent.span_id:016x}" == PARENT.split("-")[2]
    assert done.resource.attributes["service.name"] == "coordinator"
    assert traceparent(span) == f"00-{PARENT.split('-')[1]}-{done.context.span_id:016x}-01"


@pytest.mark.parametrize("bad", [None, "", "garbage", "00-abc-def-01", PARENT.upper(),
                                 "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                                 "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"])
def test_a_missing_or_malformed_traceparent_starts_no_remote_parent(bad: str | None) -> None:
    assert context_of(bad) is None


def test_traceparent_is_read_from_a_raw_header_block() -> None:
    block = header_block({"Nats-Msg-Id": "t:1", "traceparent": PARENT, "Hive-Event-Type": "x"})
    assert block is not None
    assert traceparent_in(block.encode()) == PARENT
    assert traceparent_in(header_block({"traceparent": PARENT}).encode()) == PARENT  # type: ignore[union-attr]
    assert traceparent_in(b"NATS/1.0\r\nNats-Msg-Id: t:1\r\n\r\n") is None
    assert traceparent_in(b"") is None
    ctx = context_of(traceparent_in(block.encode()))
    assert trace.get_current_span(ctx).get_span_context().is_remote  # type: ignore[arg-type]


def test_request_headers_only_while_a_request_is_traced() -> None:
    assert request_headers() is None
    token = REQUEST_TRACEPARENT.set(PARENT)
    try:
        assert request_headers() == {"traceparent": PARENT}
    finally:
        REQUEST_TRACEPARENT.reset(token)
    assert request_headers() is None


def test_tracing_is_off_by_default_and_configurable() -> None:
    assert configure_tracing(load_settings({}), "gateway") is None
    assert configure_tracing(load_settings({"HIVE_OTEL_EXPORTER": "none"}), "gateway") is None
    console = configure_tracing(load_settings({"HIVE_OTEL_EXPORTER": "console"}), "sidecar")
    assert console is not None and console.service == "sidecar"
    console.shutdown()
    otlp = configure_tracing(load_settings({"HIVE_OTEL_EXPORTER": "otlp", "HIVE_OTEL_ENDPOINT": "http://collector:4318"}),
                             "projections")
    assert otlp is not None
    otlp.shutdown()
    with pytest.raises(ConfigError, match="HIVE_OTEL_EXPORTER='jaeger' is not one of none, console, otlp"):
        configure_tracing(load_settings({"HIVE_OTEL_EXPORTER": "jaeger"}), "gateway")


def test_otlp_endpoint_forms() -> None:
    assert otlp_traces_url(None) == "http://127.0.0.1:4318/v1/traces"
    assert otlp_traces_url("http://collector:4318") == "http://collector:4318/v1/traces"
    assert otlp_traces_url("https://collector:4318/") == "https://collector:4318/v1/traces"
    assert otlp_traces_url("http://collector/otlp/v1/traces") == "http://collector/otlp/v1/traces"
    with pytest.raises(ConfigError, match="HIVE_OTEL_ENDPOINT"):
        otlp_traces_url("collector:4318")
