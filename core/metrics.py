"""Prometheus metrics shared by the services (names from the original design), and the endpoint that serves them."""

from __future__ import annotations

import logging

from prometheus_client import Counter, Gauge, Histogram, start_http_server

from core.settings import Settings

log = logging.getLogger(__name__)

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_TASK_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)

# Every service.
EVENTS_APPENDED = Counter("hive_events_appended_total", "Events appended to the log by this process", ["type"])

# Gateway.
API_REQUEST_SECONDS = Histogram(
    "hive_api_request_duration_seconds", "HTTP request duration at the gateway", ["method", "route", "status"],
    buckets=_LATENCY_BUCKETS,
)
API_ERRORS = Counter("hive_api_errors_total", "HTTP answers with a 5xx status", ["route"])
RATE_LIMITED = Counter("hive_api_rate_limited_total", "Requests refused with 429", ["action", "role"])
WEBSOCKET_CONNECTIONS = Gauge("hive_websocket_connections_active", "Open WebSocket connections on this gateway")

# Coordinator.
# Fine buckets at the low end: a placement decision is expected to take well under a millisecond.
PLACEMENT_SECONDS = Histogram(
    "hive_placement_duration_seconds", "Time to choose an agent for one task",
    buckets=(1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 0.1),
)
COORDINATOR_LEADER = Gauge("hive_coordinator_leader", "1 while this coordinator holds the leader lease, else 0")
AGENTS_LOST = Counter("hive_agents_lost_total", "Agents declared lost after missing heartbeats")
ACTIVE_AGENTS = Gauge("hive_active_agents", "Agents online (registered, heartbeating, not lost)")
TASK_QUEUE_LENGTH = Gauge("hive_task_queue_length", "Tasks waiting in the coordinator's queue for a free slot")
AGENT_UTILIZATION = Gauge("hive_agent_utilization_percent", "Busy slots over all slots of online agents, in percent")
TASKS_FINISHED = Counter("hive_tasks_finished_total", "Tasks that reached an end state", ["status"])
EXECUTION_SUCCESS_RATE = Gauge(
    "hive_execution_success_rate", "Share of the last finished tasks (up to 1,000) that completed, 0 to 1"
)
TASK_COMPLETION_SECONDS = Histogram(
    "hive_task_completion_time_seconds", "Created to completed, per completed task", buckets=_TASK_BUCKETS
)
ALERTS_OPEN = Gauge("hive_alerts_open", "Alerts Hive has raised and not resolved", ["rule", "severity"])
WORKFLOW_EXECUTIONS = Counter("hive_workflow_executions_total", "Workflow executions that ended", ["status"])

# Projections.
PROJECTION_LAG_EVENTS = Gauge("hive_projection_lag_events", "Events in the log not yet in the read models", ["projection"])
PROJECTION_CHECKPOINT = Gauge("hive_projection_checkpoint", "Last stream sequence committed to PostgreSQL", ["projection"])

# Sidecar.
SIDECAR_TASKS_RUNNING = Gauge("hive_sidecar_tasks_running", "Tasks this sidecar's executors are running")
SIDECAR_EXECUTION_SECONDS = Histogram(
    "hive_sidecar_execution_seconds", "Executor run time per task on this sidecar", ["outcome"], buckets=_TASK_BUCKETS
)


def serve_metrics(settings: Settings) -> int | None:
    """Start the /metrics endpoint when configured; returns its port."""
    if settings.metrics_port is None:
        return None
    server, _thread = start_http_server(settings.metrics_port, addr=settings.gateway_host)
    port = int(server.server_port)
    log.info("metrics on http://%s:%d/metrics", settings.gateway_host, port)
    return port
