"""Settings: read from the environment once, at an entry point, into a frozen value passed down."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import msgspec

from core.domain.retry import RetryPolicy


MIN_AUDIT_KEY = 16


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    nats_url: str = "nats://127.0.0.1:4222"
    # First token(s) of this process's reply subjects. A sidecar under per-agent NATS permissions sets
    # _INBOX_<agent_id> (infra/nats-auth.conf), so no other user can subscribe to its replies (its dispatches).
    nats_inbox_prefix: str = "_INBOX"
    database_url: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    # Prefix of every subject; streams are <PREFIX>_EVENTS etc. Tests use a unique one each.
    prefix: str = "hive"
    # PostgreSQL schema holding the read models (one per test run / deployment).
    db_schema: str = "hive"
    jwt_secret: str = "change-me"
    jwt_algorithm: str = "HS256"
    # Secret for the tamper-evident digest chain (core/store/chain.py): set, every event's digest is an HMAC under
    # it, so only its holders (the event writers: gateway, coordinator, and the auditor) can make valid ones.
    audit_key: str = ""
    # RS256: the gateway verifies with the public key; `hive token issue` signs with the private key (PEM files).
    jwt_public_key_file: str | None = None
    jwt_private_key_file: str | None = None
    # OpenTelemetry: none (off, the default), console or otlp (OTLP over HTTP to otel_endpoint; the otlp extra).
    otel_exporter: str = "none"
    otel_endpoint: str | None = None
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8080
    heartbeat_interval_s: float = 2.0
    # Replicas for streams: 1 on one node, 3 on a cluster.
    stream_replicas: int = 1
    log_level: str = "INFO"
    # Serve Prometheus /metrics on this port (0: a free one, logged); unset: no metrics endpoint.
    metrics_port: int | None = None
    # WebSocket /ws: messages queued per client before it is disconnected as a slow consumer, the most
    # events one subscribe may replay, topics per connection, and how often cluster.status is pushed.
    ws_queue_size: int = 2000
    ws_replay_limit: int = 10_000
    ws_max_subscriptions: int = 100
    ws_status_interval_s: float = 2.0
    # Requests per minute by action (a route's permission) and role; defaults are the original design's
    # table. An action not named here, or a role not named under an action, is not limited.
    rate_limits: dict[str, dict[str, int]] = msgspec.field(default_factory=lambda: {
        "workflows.create": {"admin": 100, "developer": 50, "viewer": 0},
        "executions.start": {"admin": 200, "developer": 100, "viewer": 0},
        "agents.register": {"admin": 10, "developer": 0, "viewer": 0},
    })
    # Reads with `min_seq` wait at most this long for the read model to reach that sequence.
    min_seq_wait_s: float = 5.0
    # Alert rules: rule name -> fields overriding a default rule's (null disables it), or a new rule
    # (core/domain/alert_rules.py); the coordinator evaluates them every alert_interval_s.
    alert_rules: dict[str, Any] = {}
    alert_interval_s: float = 5.0
    # Retries: runs a task gets unless it sets max_attempts, and the backoff (doubling from backoff_s, capped, with
    # jitter); a task whose agent is lost runs again at once, up to max_agent_losses times.
    task_max_attempts: int = 3
    retry_backoff_s: float = 1.0
    retry_backoff_max_s: float = 60.0
    max_agent_losses: int = 3
    # Waiting this long ranks a queued task as if one priority level higher (so low priority never starves).
    priority_aging_s: float = 10.0
    # An agent with no heartbeat for this long is lost: its tasks run again elsewhere.
    agent_lost_after_s: float = 15.0
    # Circuit breaker: after this many failed runs in a row (0: off) an agent gets no work for the cooldown.
    breaker_failures: int = 5
    breaker_cooldown_s: float = 60.0
    # Coordinator leadership: the lease in the <prefix>_leader KV bucket expires this long after its last renewal.
    leader_ttl_s: float = 10.0
    # Workflow executions: a decision that fails this many times in a row fails its execution; and the URL
    # clients reach the gateway at, for the resume URL of a waiting execution (default http://host:port).
    execution_max_failures: int = 5
    public_url: str | None = None

    def __post_init__(self) -> None:
        if self.audit_key and len(self.audit_key) < MIN_AUDIT_KEY:  # a short key could be guessed offline
            raise ValueError(f"HIVE_AUDIT_KEY must be at least {MIN_AUDIT_KEY} characters, or unset - at `$.audit_key`")

    @property
    def gateway_url(self) -> str:
        return (self.public_url or f"http://{self.gateway_host}:{self.gateway_port}").rstrip("/")

    @property
    def events_stream(self) -> str:
        return f"{self.prefix.upper()}_EVENTS"

    @property
    def dispatch_stream(self) -> str:
        return f"{self.prefix.upper()}_DISPATCH"

    @property
    def reports_stream(self) -> str:
        return f"{self.prefix.upper()}_REPORTS"

    @property
    def heartbeat_bucket(self) -> str:
        return f"{self.prefix}_heartbeats"

    @property
    def leader_bucket(self) -> str:
        return f"{self.prefix}_leader"

    def event_subject(self, aggregate: str, aggregate_id: str) -> str:
        return f"{self.prefix}.events.{aggregate}.{aggregate_id}"

    def dispatch_subject(self, agent_id: str) -> str:
        return f"{self.prefix}.dispatch.{agent_id}"

    def report_subject(self, agent_id: str, kind: str) -> str:
        return f"{self.prefix}.reports.{agent_id}.{kind}"

    def control_subject(self, agent_id: str) -> str:
        """Core NATS (not stored): the coordinator's cancel and drain orders to one sidecar."""
        return f"{self.prefix}.control.{agent_id}"


_ENV = {
    "nats_url": "HIVE_NATS_URL",
    "nats_inbox_prefix": "HIVE_NATS_INBOX_PREFIX",
    "database_url": "HIVE_DATABASE_URL",
    "prefix": "HIVE_PREFIX",
    "db_schema": "HIVE_DB_SCHEMA",
    "jwt_secret": "HIVE_JWT_SECRET",
    "jwt_algorithm": "HIVE_JWT_ALGORITHM",
    "audit_key": "HIVE_AUDIT_KEY",
    "jwt_public_key_file": "HIVE_JWT_PUBLIC_KEY_FILE",
    "jwt_private_key_file": "HIVE_JWT_PRIVATE_KEY_FILE",
    "otel_exporter": "HIVE_OTEL_EXPORTER",
    "otel_endpoint": "HIVE_OTEL_ENDPOINT",
    "gateway_host": "HIVE_GATEWAY_HOST",
    "gateway_port": "HIVE_GATEWAY_PORT",
    "metrics_port": "HIVE_METRICS_PORT",
    "heartbeat_interval_s": "HIVE_HEARTBEAT_INTERVAL_S",
    "stream_replicas": "HIVE_STREAM_REPLICAS",
    "log_level": "HIVE_LOG_LEVEL",
    "ws_queue_size": "HIVE_WS_QUEUE_SIZE",
    "ws_replay_limit": "HIVE_WS_REPLAY_LIMIT",
    "ws_max_subscriptions": "HIVE_WS_MAX_SUBSCRIPTIONS",
    "ws_status_interval_s": "HIVE_WS_STATUS_INTERVAL_S",
    "rate_limits": "HIVE_RATE_LIMITS",
    "min_seq_wait_s": "HIVE_MIN_SEQ_WAIT_S",
    "alert_rules": "HIVE_ALERT_RULES",
    "alert_interval_s": "HIVE_ALERT_INTERVAL_S",
    "task_max_attempts": "HIVE_TASK_MAX_ATTEMPTS",
    "retry_backoff_s": "HIVE_RETRY_BACKOFF_S",
    "retry_backoff_max_s": "HIVE_RETRY_BACKOFF_MAX_S",
    "max_agent_losses": "HIVE_MAX_AGENT_LOSSES",
    "priority_aging_s": "HIVE_PRIORITY_AGING_S",
    "agent_lost_after_s": "HIVE_AGENT_LOST_AFTER_S",
    "breaker_failures": "HIVE_BREAKER_FAILURES",
    "breaker_cooldown_s": "HIVE_BREAKER_COOLDOWN_S",
    "leader_ttl_s": "HIVE_LEADER_TTL_S",
    "execution_max_failures": "HIVE_EXECUTION_MAX_FAILURES",
    "public_url": "HIVE_PUBLIC_URL",
}

# Variables holding JSON rather than a plain value.
_JSON_FIELDS = frozenset({"rate_limits", "alert_rules"})


def load_settings(environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Settings from HIVE_* variables; raises msgspec.ValidationError naming the bad variable's field."""
    env = os.environ if environ is None else environ
    raw: dict[str, object] = {field: env[var] for field, var in _ENV.items() if var in env}
    for field in _JSON_FIELDS & raw.keys():
        try:
            raw[field] = msgspec.json.decode(str(raw[field]))
        except msgspec.DecodeError as err:
            raise msgspec.ValidationError(f"{err} - at `$.{field}` ({_ENV[field]} must be JSON)") from err
    raw.update(overrides)
    return msgspec.convert(raw, Settings, strict=False)


def retry_policy(settings: Settings) -> RetryPolicy:
    """The settings' retry defaults as the domain's policy value."""
    return RetryPolicy(max_attempts=settings.task_max_attempts, backoff_s=settings.retry_backoff_s,
                       backoff_max_s=settings.retry_backoff_max_s, max_agent_losses=settings.max_agent_losses)
