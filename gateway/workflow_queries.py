"""Read-model queries for workflows, executions and execution nodes."""

from __future__ import annotations

from typing import Any

import asyncpg

from gateway.cursor import TimeCursor
from gateway.workflow_schemas import ExecutionNodeView, ExecutionView, WorkflowSummary, WorkflowView

_WORKFLOW = "id, name, version, deleted, document, created_by, created_at, updated_at, last_seq"
_SUMMARY = ("id, name, version, jsonb_array_length(CASE WHEN jsonb_typeof(document->'nodes') = 'array' "
            "THEN document->'nodes' ELSE '[]'::jsonb END) AS node_count, created_by, created_at, updated_at, last_seq")
_EXECUTION = ("id, workflow_id, workflow_version, status, trigger, created_by, error, failed_node, last_node, result, "
              "response, created_at, updated_at, started_at, finished_at, cancel_requested_at, last_seq")
_NODE = "node, status, task_ids, resume_at, outputs, error, started_at, finished_at"


def _with_seq(row: asyncpg.Record) -> dict[str, Any]:
    values = dict(row)
    values["seq"] = values.pop("last_seq")
    return values


async def get_workflow(pool: asyncpg.Pool[Any], workflow_id: str) -> WorkflowView | None:
    row = await pool.fetchrow(f"SELECT {_WORKFLOW} FROM workflows WHERE id = $1", workflow_id)
    return WorkflowView(**_with_seq(row)) if row else None


async def list_workflows(pool: asyncpg.Pool[Any], *, limit: int, after: TimeCursor | None) -> list[WorkflowSummary]:
    args: list[object] = []
    where = "WHERE NOT deleted"
    if after is not None:
        args += [after.at, after.id]
        where += " AND (created_at, id) < ($1, $2)"
    args.append(limit + 1)
    rows = await pool.fetch(f"SELECT {_SUMMARY} FROM workflows {where} ORDER BY created_at DESC, id DESC "
                            f"LIMIT ${len(args)}", *args)
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
    clauses: list[str] = []
    args: list[object] = []
    if workflow_id is not None:
        args.append(workflow_id)
        clauses.append(f"workflow_id = ${len(args)}")
    if status is not None:
        args.append(status)
        clauses.append(f"status = ${len(args)}")
    if after is not None:
        args += [after.at, after.id]
        clauses.append(f"(created_at, id) < (${len(args) - 1}, ${len(args)})")
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    args.append(limit + 1)
    rows = await pool.fetch(f"SELECT {_EXECUTION} FROM executions {where} ORDER BY created_at DESC, id DESC "
                            f"LIMIT ${len(args)}", *args)
    return [ExecutionView(**_with_seq(r)) for r in rows]
