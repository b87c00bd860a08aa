"""Read-model queries (tasks, agents) against the projections' PostgreSQL tables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias

import asyncpg
import msgspec

from gateway.cursor import IdCursor, TimeCursor
from gateway.keyset import Where
from gateway.schemas import AgentView, TaskView

Pool: TypeAlias = "asyncpg.Pool[Any]"

# Each task row as the JSON of a TaskView, built by PostgreSQL: msgspec decodes and checks it in one C pass,
# where asyncpg would decode two dozen columns into Python values to build the struct from. The gateway's
# sessions run in UTC (see db.py), so timestamps arrive as +00:00 and re-encode as the API's `Z` form.
_TASK_JSON = "json_build_object({})::text".format(
    ", ".join(f"'{name}', {'last_seq' if name == 'seq' else name}" for name in TaskView.__struct_fields__)
)
_task_decoder = msgspec.json.Decoder(TaskView)
_AGENT_COLUMNS = (
    "id, name, session_id, status, capabilities, models, max_concurrency, executor, hardware, registered_at, "
    "updated_at, last_seq, lost_at, circuit_open_until, circuit_failures, "
    "CASE WHEN circuit_open_until IS NULL THEN 'closed' WHEN circuit_open_until > now() THEN 'open' "
    "ELSE 'half_open' END AS circuit"
)


def task_from_row(row: asyncpg.Record) -> TaskView:
    return _task_decoder.decode(row[0])


def agent_from_row(row: asyncpg.Record) -> AgentView:
    values = dict(row)
    values["seq"] = values.pop("last_seq")
    values["models"] = list(values["models"])
    return AgentView(**values)


async def get_task(pool: Pool, task_id: str) -> TaskView | None:
    row = await pool.fetchrow(f"SELECT {_TASK_JSON} FROM tasks WHERE id = $1", task_id)
    return task_from_row(row) if row else None


async def get_tasks(pool: Pool, task_ids: list[str]) -> dict[str, TaskView]:
    """The tasks of `task_ids` that are in the read model, by id (one query for all of them)."""
    rows = await pool.fetch(f"SELECT {_TASK_JSON} FROM tasks WHERE id = ANY($1::text[])", task_ids)
    views = [task_from_row(row) for row in rows]
    return {view.id: view for view in views}


async def list_tasks(pool: Pool, *, limit: int, status: str | None, after: TimeCursor | None,
                     dead_lettered: bool | None = None) -> list[TaskView]:
    """Newest first; `after` is the last row of the previous page. Fetches limit+1 to tell if more remain."""
    where = Where().add("status", status).flag("dead_lettered", dead_lettered)
    where.before(("created_at", "id"), (after.at, after.id) if after else None)
    sql, args = where.page(f"SELECT {_TASK_JSON} FROM tasks", "created_at DESC, id DESC", limit)
    rows = await pool.fetch(sql, *args)
    return [task_from_row(r) for r in rows]


async def existing_task_ids(pool: Pool, ids: Sequence[str]) -> set[str]:
    rows = await pool.fetch("SELECT id FROM tasks WHERE id = ANY($1::text[])", list(ids))
    return {r["id"] for r in rows}


async def get_agent(pool: Pool, agent_id: str) -> AgentView | None:
    row = await pool.fetchrow(f"SELECT {_AGENT_COLUMNS} FROM agents WHERE id = $1", agent_id)
    return agent_from_row(row) if row else None


async def list_agents(pool: Pool, *, limit: int, status: str | None, after: IdCursor | None) -> list[AgentView]:
    """Ordered by id; fetches limit+1 to tell if more remain."""
    where = Where().add("status", status).add("id", after.id if after else None, ">")
    sql, args = where.page(f"SELECT {_AGENT_COLUMNS} FROM agents", "id", limit)
    rows = await pool.fetch(sql, *args)
    return [agent_from_row(r) for r in rows]


async def ping(pool: Pool) -> None:
    await pool.fetchval("SELECT 1")


async def cluster_counts(pool: Pool) -> dict[str, dict[str, int]]:
    """Tasks and agents by status, as the read models have them now."""
    async with pool.acquire() as conn:
        tasks = await conn.fetch("SELECT status, count(*) AS n FROM tasks GROUP BY status")
        agents = await conn.fetch("SELECT status, count(*) AS n FROM agents GROUP BY status")
    return {"tasks": {r["status"]: r["n"] for r in tasks}, "agents": {r["status"]: r["n"] for r in agents}}
