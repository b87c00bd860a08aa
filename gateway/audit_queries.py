"""Queries on the audit index (the projections' `audit_events`: one row per event), by sequence with cursor paging."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias

import asyncpg

from gateway.keyset import Where

Pool: TypeAlias = "asyncpg.Pool[Any]"

COLUMNS = "seq, event_id, type, aggregate, aggregate_id, occurred_at, actor, correlation_id, causation_id"


@dataclass(frozen=True, slots=True)
class AuditFilter:
    aggregate: str | None = None
    aggregate_id: str | None = None
    actor: str | None = None
    type: str | None = None
    since: datetime | None = None  # occurred_at >= since
    until: datetime | None = None  # occurred_at < until


async def find_events(pool: Pool, where: AuditFilter, *, newest_first: bool, after: int | None,
                      limit: int) -> list[asyncpg.Record]:
    """Index rows matching every given filter, ordered by seq; `after` is the previous page's last seq.
    Fetches limit+1 to tell if more remain."""
    filters = Where()
    for column, op, value in (("aggregate", "=", where.aggregate), ("aggregate_id", "=", where.aggregate_id),
                              ("actor", "=", where.actor), ("type", "=", where.type),
                              ("occurred_at", ">=", where.since), ("occurred_at", "<", where.until),
                              ("seq", "<" if newest_first else ">", after)):
        filters.add(column, value, op)
    sql, args = filters.page(f"SELECT {COLUMNS} FROM audit_events", "seq DESC" if newest_first else "seq ASC", limit)
    return list(await pool.fetch(sql, *args))
