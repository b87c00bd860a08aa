"""The gateway's PostgreSQL pool: the projections' pool factory, plus JSON codecs for the read side."""

from __future__ import annotations

from typing import Any

import asyncpg
import msgspec

from core.settings import Settings
from projections.db import create_pool as create_read_model_pool


async def _init_connection(conn: asyncpg.Connection[Any]) -> None:
    # JSON columns come back as Python values, not strings, so views can embed them directly.
    for kind in ("json", "jsonb"):
        await conn.set_type_codec(
            kind, schema="pg_catalog", encoder=lambda v: msgspec.json.encode(v).decode(), decoder=msgspec.json.decode
        )


async def _keep_session(conn: asyncpg.Connection[Any]) -> None:
    """Pool reset hook: the gateway never changes session state (no SET, LISTEN, advisory locks, cursors).

    asyncpg's default reset runs `RESET ALL; UNLISTEN *; ...` on every release: a round trip per request.
    With a hook, asyncpg still rolls back a transaction left open; this hook has nothing more to undo.
    """


async def create_pool(settings: Settings, *, max_size: int = 10) -> asyncpg.Pool[Any]:
    pool: asyncpg.Pool[Any] = await create_read_model_pool(
        settings, init=_init_connection, max_size=max_size, reset=_keep_session,
        # UTC: the read model's JSON carries timestamps in the session's zone (readmodel.py).
        server_settings={"application_name": "hive-gateway", "TimeZone": "UTC"},
    )
    return pool
