"""PostgreSQL access for the read models: the pool factory (shared with the gateway) and lock keys."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from contextlib import suppress
from typing import Any

import asyncpg

from core.settings import Settings

log = logging.getLogger(__name__)

# What PostgreSQL down, going down or starting up raises: worth waiting out, unlike a wrong password or
# database name, which no wait mends.
UNREACHABLE: tuple[type[Exception], ...] = (
    OSError, asyncpg.PostgresConnectionError, asyncpg.exceptions.OperatorInterventionError,
)
MAX_WAIT_S = 5.0


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


async def wait_for_postgres(settings: Settings, stop: asyncio.Event) -> bool:
    """Until PostgreSQL accepts a connection (True) or `stop` is set (False), trying again after a growing pause.
    An error that is not PostgreSQL being away (authentication, no such database) is raised."""
    delay = 0.1
    while not stop.is_set():
        try:
            conn = await asyncpg.connect(settings.database_url, timeout=10)
        except UNREACHABLE as err:
            log.warning("waiting for PostgreSQL: %r; trying again in %.1fs", err, delay)
        else:
            await conn.close()
            return True
        with suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        delay = min(delay * 2, MAX_WAIT_S)
    return False


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def projection_lock_key(schema: str) -> int:
    """Advisory lock held by every projection batch on `schema` and by a rebuild's swap of it."""
    digest = hashlib.sha256(f"hive-projection:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)
