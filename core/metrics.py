"""Prometheus metrics shared by the services, and the endpoint a service serves them on."""

from __future__ import annotations

import logging

from prometheus_client import Counter, Gauge, Histogram, start_http_server

from core.settings import Settings

log = logging.getLogger(__name__)

# Fine buckets at the low end: a placement decision is expected to take well under a millisecond.
PLACEMENT_SECONDS = Histogram(
    "hive_placement_duration_seconds", "Time to choose an agent for one task",
    buckets=(1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 0.1),
)
EVENTS_APPENDED = Counter("hive_events_appended_total", "Events appended to the log by this process", ["type"])
WEBSOCKET_CONNECTIONS = Gauge("hive_websocket_connections_active", "Open WebSocket connections on this gateway")
AGENTS_LOST = Counter("hive_agents_lost_total", "Agents declared lost after missing heartbeats")


def serve_metrics(settings: Settings) -> int | None:
    """Start the /metrics endpoint when configured; returns its port."""
    if settings.metrics_port is None:
        return None
    server, _thread = start_http_server(settings.metrics_port, addr=settings.gateway_host)
    port = int(server.server_port)
    log.info("metrics on http://%s:%d/metrics", settings.gateway_host, port)
    return port
