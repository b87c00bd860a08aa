"""Read-model queries for workflows, executions and execution nodes."""

from __future__ import annotations

from typing import Any

import asyncpg

from gateway.cursor import TimeCursor
from gateway.keyset import Where
from gateway.workflow_schemas import ExecutionNodeView, ExecutionView, WorkflowSummary, WorkflowView

_WORKFLOW = "id, name, version, deleted, document, created_by, created_at, updated_at, last_seq"
_SUMMARY = ("id, name, version, jsonb_array_length(CASE WHEN jsonb_typeof(document->'nodes') = 'array' "
            "THEN document->'nodes' ELSE '[]'::jsonb END) AS node_count, created_by, created_at, updated_at, last_seq")
_EXECUTION = ("id, workflow_id, workflow_version, status, trigger, created_by, error, failed_node, last_node, result, "
              "response, created_at, updated_at, started_at, finished_at, cancel_requested_at, last_seq")
_NODE = "node, status, task_ids, resume_at, outputs, error, started_at, finished_at, resume"


def _with_seq(row: asyncpg.Record) -> dict[str, Any]:
    values = dict(row)
    values["seq"] = values.pop("last_seq")
    return values


async def get_workflow(pool: asyncpg.Pool[Any], workflow_id: str) -> WorkflowView | None:
    row = await pool.fetchrow(f"SELECT {_WORKFLOW} FROM workflows WHERE id = $1", workflow_id)
    return WorkflowView(**_with_seq(row)) if row else None


async def list_workflows(pool: asyncpg.Pool[Any], *, limit: int, after: TimeCursor | None) -> list[WorkflowSummary]:
    where = Where().flag("deleted", False).before(("created_at", "id"), (after.at, after.id) if after else None)
    sql, args = where.page(f"SELECT {_SUMMARY} FROM workflows", "created_at DESC, id DESC", limit)
    rows = await pool.fetch(sql, *args)
    return [WorkflowSummary(**_with_seq(r)) for r in rows]


async def get_execution(pool: asyncpg.Pool[Any], execution_id: str) -> ExecutionView | None:
    async with pool.acquire() as conn:
        row = await conn.fetchrow(f"SELECT {_EXECUTION} FROM executions WHERE id = $1", execution_id)
        if row is None:
            return None
        nodes = await conn.fetch(f"SELECT {_NODE} FROM execution_nodes WHERE execution_id = $1 "
                                 "ORDER BY started_at, last_seq", execution_id)
    view = ExecutionView(**_with_seq(row))
    view.nodes = [ExecutionNodeView(**{**dict(n), "task_ids": list(n["task_ids"])}) for n in nodes]
    return view


async def list_executions(pool: asyncpg.Pool[Any], *, limit: int, after: TimeCursor | None, workflow_id: str | None,
                          status: str | None) -> list[ExecutionView]:
    where = Where().add("workflow_id", workflow_id).add("status", status)
    where.before(("created_at", "id"), (after.at, after.id) if after else None)
    sql, args = where.page(f"SELECT {_EXECUTION} FROM executions", "created_at DESC, id DESC", limit)
    rows = await pool.fetch(sql, *args)
    return [ExecutionView(**_with_seq(r)) for r in rows]
