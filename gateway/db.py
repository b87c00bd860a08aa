"""The gateway's PostgreSQL pool on the read-model schema (to be replaced by projections.db.create_pool)."""

from __future__ import annotations

from typing import Any

import asyncpg
import msgspec

from core.settings import Settings


async def _init_connection(conn: asyncpg.Connection[Any]) -> None:
    # JSON columns come back as Python values, not strings, so views can embed them directly.
    for kind in ("json", "jsonb"):
        await conn.set_type_codec(
            kind, schema="pg_catalog", encoder=lambda v: msgspec.json.encode(v).decode(), decoder=msgspec.json.decode
        )


async def create_pool(settings: Settings, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool[Any]:
    pool = await asyncpg.create_pool(
        settings.database_url,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        server_settings={"search_path": settings.db_schema, "application_name": "hive-gateway"},
    )
    assert pool is not None  # create_pool only returns None when not awaited
    return pool
