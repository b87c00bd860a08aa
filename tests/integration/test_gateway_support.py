"""Shared helpers for the gateway integration tests: a running app, tokens, read-model rows (no tests here)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import msgspec
from litestar.testing import AsyncTestClient

from core.settings import Settings
from core.tokens import issue_token
from gateway.app import create_app


def token(settings: Settings, role: str = "developer", subject: str = "alice", ttl_s: float = 3600) -> str:
    return issue_token(settings.jwt_secret, role=role, subject=subject, now=datetime.now(UTC),
                       ttl=timedelta(seconds=ttl_s))


def auth(settings: Settings, role: str = "developer", subject: str = "alice") -> dict[str, str]:
    return {"Authorization": f"Bearer {token(settings, role, subject)}"}


@asynccontextmanager
async def gateway(settings: Settings) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(app=create_app(settings), raise_server_exceptions=False) as client:
        yield client


async def insert_task(settings: Settings, task_id: str, *, created_at: datetime, status: str = "pending",
                      title: str = "t", seq: int = 1, **extra: Any) -> None:
    """A tasks read-model row as the projector would write it (the gateway has applied migrations)."""
    row: dict[str, Any] = {"id": task_id, "title": title, "status": status, "created_at": created_at,
                           "updated_at": created_at, "last_seq": seq, "created_by": "seed", **extra}
    for key in ("payload", "result"):
        if key in row and row[key] is not None:
            row[key] = msgspec.json.encode(row[key]).decode()
    cols = ", ".join(row)
    params = ", ".join(f"${i}" + ("::jsonb" if k in ("payload", "result") else "") for i, k in enumerate(row, 1))
    conn = await asyncpg.connect(settings.database_url, server_settings={"search_path": settings.db_schema})
    try:
        await conn.execute(f"INSERT INTO tasks ({cols}) VALUES ({params})", *row.values())
    finally:
        await conn.close()


async def insert_agent(settings: Settings, agent_id: str, *, status: str = "online", seq: int = 1) -> None:
    now = datetime.now(UTC)
    conn = await asyncpg.connect(settings.database_url, server_settings={"search_path": settings.db_schema})
    try:
        await conn.execute(
            "INSERT INTO agents (id, name, session_id, status, capabilities, models, max_concurrency, executor, "
            "hardware, registered_at, updated_at, last_seq) VALUES ($1, $2, 's1', $3, $4::jsonb, $5, 2, 'ollama', "
            "$6::jsonb, $7, $7, $8)",
            agent_id, f"name-{agent_id}", status, '{"llm.chat": 0.9}', ["llama3"], '{"hostname": "gpu1"}', now, seq,
        )
    finally:
        await conn.close()
