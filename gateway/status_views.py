"""Cluster status, per-agent status and performance figures, computed by PostgreSQL from the read models."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeAlias

import asyncpg
import msgspec

from gateway.cursor import IdCursor
from projections.projector import CHECKPOINT_NAME

Pool: TypeAlias = "asyncpg.Pool[Any]"

# Task states that hold an agent's slot (see core.domain.task.HOLDS_SLOT).
_BUSY = "('assigned', 'running')"


class ClusterStatus(msgspec.Struct, kw_only=True):
    """The fleet now: counts by state, slots, recent throughput, and how far the read models trail the log."""

    tasks: dict[str, int]
    agents: dict[str, int]
    slots_total: int
    slots_busy: int
    utilization_percent: float
    completed_last_minute: int
    completed_last_5_minutes: int
    throughput_per_s: float
    read_model_seq: int
    stream_seq: int | None
    projection_lag_events: int | None
    as_of: datetime


class AgentStatusView(msgspec.Struct, kw_only=True):
    id: str
    name: str
    status: str
    max_concurrency: int
    running: int
    utilization_percent: float
    completed_last_hour: int
    failed_last_hour: int
    avg_run_s_last_hour: float | None
    tokens_per_s: float | None
    updated_at: datetime


class AgentStatusPage(msgspec.Struct, kw_only=True):
    items: list[AgentStatusView]
    next_cursor: str | None


class Quantiles(msgspec.Struct, kw_only=True):
    p50: float | None
    p95: float | None
    p99: float | None


class Performance(msgspec.Struct, kw_only=True):
    """Tasks that ended in the last `window_s` seconds: outcomes, throughput and latencies in seconds."""

    window_s: int
    completed: int
    failed: int
    timed_out: int
    cancelled: int
    success_rate: float | None
    throughput_per_s: float
    queue_wait_s: Quantiles
    run_s: Quantiles
    total_s: Quantiles
    utilization_percent: float
    as_of: datetime


async def cluster_status(pool: Pool, *, stream_seq: int | None) -> ClusterStatus:
    async with pool.acquire() as conn:
        tasks = await conn.fetch("SELECT status, count(*) AS n FROM tasks GROUP BY status")
        agents = await conn.fetch("SELECT status, count(*) AS n FROM agents GROUP BY status")
        row = await conn.fetchrow(f"""
            SELECT
              (SELECT coalesce(sum(max_concurrency), 0) FROM agents WHERE status = 'online') AS slots_total,
              (SELECT count(*) FROM tasks WHERE status IN {_BUSY}) AS slots_busy,
              (SELECT count(*) FROM tasks WHERE status = 'completed'
                 AND finished_at > now() - interval '1 minute') AS last_minute,
              (SELECT count(*) FROM tasks WHERE status = 'completed'
                 AND finished_at > now() - interval '5 minutes') AS last_5,
              (SELECT coalesce(max(seq), 0) FROM projection_checkpoints WHERE name = $1) AS read_seq,
              now() AS as_of
        """, CHECKPOINT_NAME)
    assert row is not None
    total, busy = int(row["slots_total"]), int(row["slots_busy"])
    read_seq = int(row["read_seq"])
    return ClusterStatus(
        tasks={r["status"]: r["n"] for r in tasks},
        agents={r["status"]: r["n"] for r in agents},
        slots_total=total,
        slots_busy=busy,
        # Tasks still held by an agent gone offline count as busy but add no slots: never over 100%.
        utilization_percent=_percent(min(busy, total), total),
        completed_last_minute=row["last_minute"],
        completed_last_5_minutes=row["last_5"],
        throughput_per_s=row["last_5"] / 300.0,
        read_model_seq=read_seq,
        stream_seq=stream_seq,
        projection_lag_events=None if stream_seq is None else max(0, stream_seq - read_seq),
        as_of=row["as_of"],
    )


async def agent_statuses(pool: Pool, *, limit: int, after: IdCursor | None) -> list[AgentStatusView]:
    """Ordered by id; fetches limit+1 to tell if more remain."""
    rows = await pool.fetch(f"""
        WITH page AS (
            SELECT id, name, status, max_concurrency, hardware, updated_at FROM agents
            WHERE $1::text IS NULL OR id > $1 ORDER BY id LIMIT $2
        )
        SELECT p.*,
          (SELECT count(*) FROM tasks t WHERE t.assigned_agent_id = p.id AND t.status IN {_BUSY}) AS running,
          h.completed, h.failed, h.avg_run_s
        FROM page p
        LEFT JOIN LATERAL (
            SELECT count(*) FILTER (WHERE t.status = 'completed') AS completed,
                   count(*) FILTER (WHERE t.status IN ('failed', 'timed_out')) AS failed,
                   avg(extract(epoch FROM t.finished_at - t.started_at))
                     FILTER (WHERE t.status = 'completed' AND t.started_at IS NOT NULL) AS avg_run_s
            FROM tasks t
            WHERE t.assigned_agent_id = p.id AND t.finished_at > now() - interval '1 hour'
        ) h ON true
        ORDER BY p.id
    """, after.id if after else None, limit + 1)
    return [_agent_status(r) for r in rows]


def _agent_status(row: asyncpg.Record) -> AgentStatusView:
    hardware = row["hardware"]  # decoded by the pool's JSON codec
    rate = hardware.get("tokens_per_s") if isinstance(hardware, dict) else None
    running, slots = int(row["running"]), int(row["max_concurrency"])
    return AgentStatusView(
        id=row["id"], name=row["name"], status=row["status"], max_concurrency=slots, running=running,
        utilization_percent=_percent(min(running, slots), slots),
        completed_last_hour=int(row["completed"] or 0), failed_last_hour=int(row["failed"] or 0),
        avg_run_s_last_hour=None if row["avg_run_s"] is None else float(row["avg_run_s"]),
        tokens_per_s=float(rate) if isinstance(rate, int | float) else None,
        updated_at=row["updated_at"],
    )


async def performance(pool: Pool, *, window_s: int) -> Performance:
    row = await pool.fetchrow(f"""
        WITH ended AS (
            SELECT status, created_at, assigned_at, started_at, finished_at FROM tasks
            WHERE finished_at > now() - make_interval(secs => $1)
        ), done AS (
            SELECT extract(epoch FROM coalesce(assigned_at, started_at) - created_at) AS wait,
                   extract(epoch FROM finished_at - started_at) AS run,
                   extract(epoch FROM finished_at - created_at) AS total
            FROM ended WHERE status = 'completed'
        )
        SELECT
          (SELECT count(*) FROM ended WHERE status = 'completed') AS completed,
          (SELECT count(*) FROM ended WHERE status = 'failed') AS failed,
          (SELECT count(*) FROM ended WHERE status = 'timed_out') AS timed_out,
          (SELECT count(*) FROM ended WHERE status = 'cancelled') AS cancelled,
          (SELECT percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY wait) FROM done) AS wait_q,
          (SELECT percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY run) FROM done) AS run_q,
          (SELECT percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY total) FROM done) AS total_q,
          (SELECT coalesce(sum(max_concurrency), 0) FROM agents WHERE status = 'online') AS slots_total,
          (SELECT count(*) FROM tasks WHERE status IN {_BUSY}) AS slots_busy,
          now() AS as_of
    """, float(window_s))
    assert row is not None
    completed, failed, timed_out = int(row["completed"]), int(row["failed"]), int(row["timed_out"])
    judged = completed + failed + timed_out  # cancelled tasks say nothing about the fleet's success
    return Performance(
        window_s=window_s, completed=completed, failed=failed, timed_out=timed_out, cancelled=int(row["cancelled"]),
        success_rate=completed / judged if judged else None,
        throughput_per_s=completed / window_s,
        queue_wait_s=_quantiles(row["wait_q"]), run_s=_quantiles(row["run_q"]), total_s=_quantiles(row["total_q"]),
        utilization_percent=_percent(min(int(row["slots_busy"]), int(row["slots_total"])), int(row["slots_total"])),
        as_of=row["as_of"],
    )


def _quantiles(values: list[float | None] | None) -> Quantiles:
    p50, p95, p99 = (float(v) if v is not None else None for v in (values or [None, None, None]))
    return Quantiles(p50=p50, p95=p95, p99=p99)


def _percent(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 2) if whole else 0.0
