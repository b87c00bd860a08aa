"""SQL for the workflow, execution and execution-node rows of one batch (inside the batch's transaction)."""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson

from projections.workflow_rows import FlowChanges

# Replays and redeliveries are no-ops: every statement only moves a row forward (last_seq).
UPSERT_WORKFLOW = """
INSERT INTO workflows (id, name, version, document, deleted, created_by, created_at, updated_at, last_seq)
VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9)
ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, version = EXCLUDED.version, document = EXCLUDED.document,
    deleted = EXCLUDED.deleted, updated_at = EXCLUDED.updated_at, last_seq = EXCLUDED.last_seq
WHERE workflows.last_seq < EXCLUDED.last_seq
"""

PATCH_WORKFLOW = """
UPDATE workflows SET name = COALESCE($2, name), version = GREATEST($3, version),
    document = COALESCE($4::jsonb, document), deleted = deleted OR $5, updated_at = $6, last_seq = $7
WHERE id = $1 AND last_seq < $7
"""

UPSERT_EXECUTION = """
INSERT INTO executions (id, workflow_id, workflow_version, status, trigger, created_by, error, failed_node,
    last_node, result, response, created_at, updated_at, started_at, finished_at, cancel_requested_at, last_seq)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11::jsonb, $12, $13, $14, $15, $16, $17)
ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, trigger = EXCLUDED.trigger, error = EXCLUDED.error,
    failed_node = EXCLUDED.failed_node, last_node = EXCLUDED.last_node, result = EXCLUDED.result,
    response = EXCLUDED.response, updated_at = EXCLUDED.updated_at, started_at = EXCLUDED.started_at,
    finished_at = EXCLUDED.finished_at, cancel_requested_at = EXCLUDED.cancel_requested_at,
    last_seq = EXCLUDED.last_seq
WHERE executions.last_seq < EXCLUDED.last_seq
"""

PATCH_EXECUTION = """
UPDATE executions SET status = COALESCE($2, status), trigger = COALESCE($3, trigger), error = COALESCE($4, error),
    failed_node = COALESCE($5, failed_node), last_node = COALESCE($6, last_node),
    result = COALESCE($7::jsonb, result), response = COALESCE($8::jsonb, response), updated_at = $9,
    started_at = COALESCE($10, started_at), finished_at = COALESCE($11, finished_at),
    cancel_requested_at = COALESCE($12, cancel_requested_at), last_seq = $13
WHERE id = $1 AND last_seq < $13
"""

UPSERT_NODE = """
INSERT INTO execution_nodes (execution_id, node, status, task_ids, resume_at, outputs, error, started_at,
    finished_at, last_seq, resume)
VALUES ($1, $2, $3, $4::text[], $5, $6::jsonb, $7, $8, $9, $10, $11)
ON CONFLICT (execution_id, node) DO UPDATE SET status = EXCLUDED.status,
    task_ids = CASE WHEN cardinality(EXCLUDED.task_ids) > 0 THEN EXCLUDED.task_ids ELSE execution_nodes.task_ids END,
    resume_at = COALESCE(EXCLUDED.resume_at, execution_nodes.resume_at),
    resume = COALESCE(EXCLUDED.resume, execution_nodes.resume),
    outputs = COALESCE(EXCLUDED.outputs, execution_nodes.outputs), error = COALESCE(EXCLUDED.error, execution_nodes.error),
    finished_at = COALESCE(EXCLUDED.finished_at, execution_nodes.finished_at), last_seq = EXCLUDED.last_seq
WHERE execution_nodes.last_seq < EXCLUDED.last_seq
"""

# An execution under way is waiting while every node under way waits (for its time or a resume request).
SETTLE_EXECUTIONS = """
UPDATE executions e SET status = CASE
    WHEN EXISTS (SELECT 1 FROM execution_nodes n WHERE n.execution_id = e.id AND n.status = 'waiting')
     AND NOT EXISTS (SELECT 1 FROM execution_nodes n WHERE n.execution_id = e.id AND n.status = 'running')
    THEN 'waiting' ELSE 'running' END
WHERE e.id = ANY($1::text[]) AND e.status IN ('running', 'waiting')
"""


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


async def write_flows(conn: asyncpg.Connection, flows: FlowChanges) -> None:
    whole, patches = [], []
    for w in flows.workflows.values():
        if w.created_at is not None:
            whole.append((w.id, w.name or "", w.version, _json(w.document), w.deleted, w.created_by, w.created_at,
                          w.updated_at, w.last_seq))
        else:
            patches.append((w.id, w.name, w.version, _json(w.document), w.deleted, w.updated_at, w.last_seq))
    if whole:
        await conn.executemany(UPSERT_WORKFLOW, whole)
    if patches:
        await conn.executemany(PATCH_WORKFLOW, patches)
    new, changed = [], []
    for x in flows.executions.values():
        if x.requested is not None:
            r = x.requested
            new.append((x.id, r.workflow_id, r.workflow_version, x.status or "requested", x.trigger, x.created_by,
                        x.error, x.failed_node, x.last_node, _json(x.result), _json(x.response), x.created_at,
                        x.updated_at, x.started_at, x.finished_at, x.cancel_requested_at, x.last_seq))
        else:
            changed.append((x.id, x.status, x.trigger, x.error, x.failed_node, x.last_node, _json(x.result),
                            _json(x.response), x.updated_at, x.started_at, x.finished_at, x.cancel_requested_at,
                            x.last_seq))
    if new:
        await conn.executemany(UPSERT_EXECUTION, new)
    if changed:
        await conn.executemany(PATCH_EXECUTION, changed)
    if flows.nodes:
        await conn.executemany(UPSERT_NODE, [
            (n.execution_id, n.node, n.status, n.task_ids or [], n.resume_at, _json(n.outputs), n.error, n.started_at,
             n.finished_at, n.last_seq, n.resume) for n in flows.nodes.values()])
        await conn.execute(SETTLE_EXECUTIONS, flows.settle())
