"""Read-model queries for alerts (the projections' `alerts` table), newest first with cursor paging."""

from __future__ import annotations

from typing import Any, TypeAlias

import asyncpg

from gateway.cursor import TimeCursor
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
    clauses: list[str] = []
    args: list[object] = []
    for column, value in (("status", status), ("severity", severity)):
        if value is not None:
            args.append(value)
            clauses.append(f"{column} = ${len(args)}")
    if after is not None:
        args.extend([after.at, after.id])
        clauses.append(f"(raised_at, id) < (${len(args) - 1}, ${len(args)})")
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    args.append(limit + 1)
    rows = await pool.fetch(
        f"SELECT {_COLUMNS} FROM alerts {where} ORDER BY raised_at DESC, id DESC LIMIT ${len(args)}", *args
    )
    return [alert_from_row(r) for r in rows]
