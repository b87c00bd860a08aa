"""What the end-to-end tests share: tokens, submitting echo tasks over HTTP, and reading their outcome back."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx

from core.settings import Settings
from core.tokens import issue_token

LIFECYCLE = ["task.created.v1", "task.queued.v1", "task.assigned.v1", "task.started.v1", "task.completed.v1"]


def token(settings: Settings, role: str = "developer") -> str:
    return issue_token(settings.jwt_secret, role=role, subject="e2e", now=datetime.now(UTC), ttl=timedelta(hours=1))


async def submit(client: httpx.AsyncClient, n: int, prefix: str) -> dict[str, str]:
    """Submit n echo tasks (16 requests in flight); returns id -> prompt."""
    sem = asyncio.Semaphore(16)

    async def one(i: int) -> tuple[str, str]:
        prompt = f"{prefix}-{i} with 'quotes' and $(not a command)"
        async with sem:
            r = await client.post("/api/tasks", json={"title": f"echo {i}", "prompt": prompt, "capabilities": ["echo"]})
        assert r.status_code == 201, r.text
        return r.json()["id"], prompt

    return dict(await asyncio.gather(*(one(i) for i in range(n))))


async def completed_outputs(settings: Settings, ids: list[str]) -> dict[str, str]:
    conn = await asyncpg.connect(settings.database_url, server_settings={"search_path": settings.db_schema})
    try:
        rows = await conn.fetch("SELECT id, result->>'output' AS output FROM tasks WHERE status = 'completed' "
                                "AND id = ANY($1::text[])", ids)
    finally:
        await conn.close()
    return {r["id"]: r["output"] for r in rows}


async def count_status(settings: Settings, status: str, ids: list[str]) -> int:
    """How many of `ids` the read model has in `status` (0 before the projections made the table)."""
    conn = await asyncpg.connect(settings.database_url, server_settings={"search_path": settings.db_schema})
    try:
        return int(await conn.fetchval("SELECT count(*) FROM tasks WHERE status = $1 AND id = ANY($2::text[])",
                                       status, ids))
    except asyncpg.UndefinedTableError:
        return 0
    finally:
        await conn.close()


async def all_done(settings: Settings, ids: list[str]) -> bool:
    return await count_status(settings, "completed", ids) == len(ids)
