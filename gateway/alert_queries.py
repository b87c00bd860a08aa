"""Read-model queries for alerts (the projections' `alerts` table), newest first with cursor paging."""

from __future__ import annotations

from typing import Any, TypeAlias

import asyncpg

from gateway.cursor import TimeCursor
from gateway.keyset import Where
from gateway.schemas import AlertView

Pool: TypeAlias = "asyncpg.Pool[Any]"

_COLUMNS = ", ".join("last_seq" if name == "seq" else name for name in AlertView.__struct_fields__)


def alert_from_row(row: asyncpg.Record) -> AlertView:
    values = dict(row)
    values["seq"] = values.pop("last_seq")
    return AlertView(**values)


async def list_alerts(pool: Pool, *, limit: int, status: str | None, severity: str | None,
                      after: TimeCursor | None) -> list[AlertView]:
    """Newest raised first; `after` is the last row of the previous page. Fetches limit+1 to tell if more remain."""
    where = Where().add("status", status).add("severity", severity)
    where.before(("raised_at", "id"), (after.at, after.id) if after else None)
    sql, args = where.page(f"SELECT {_COLUMNS} FROM alerts", "raised_at DESC, id DESC", limit)
    rows = await pool.fetch(sql, *args)
    return [alert_from_row(r) for r in rows]
