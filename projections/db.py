"""PostgreSQL access for the read models: the pool factory (shared with the gateway) and lock keys."""

from __future__ import annotations

import hashlib
from typing import Any

import asyncpg

from core.settings import Settings


async def create_pool(settings: Settings, *, schema: str | None = None, **kw: Any) -> asyncpg.Pool:
    """A pool whose connections resolve unqualified names in the read-model schema (or `schema`)."""
    server_settings = dict(kw.pop("server_settings", None) or {})
    # Quoted, so a schema name with capitals or odd characters still resolves.
    server_settings.setdefault("search_path", quote_ident(schema or settings.db_schema))
    kw.setdefault("min_size", 1)
    kw.setdefault("max_size", 10)
    pool = await asyncpg.create_pool(settings.database_url, server_settings=server_settings, **kw)
    assert pool is not None
    return pool


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def projection_lock_key(schema: str) -> int:
    """Advisory lock held by every projection batch on `schema` and by a rebuild's swap of it."""
    digest = hashlib.sha256(f"hive-projection:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)
