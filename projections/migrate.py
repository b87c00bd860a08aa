"""Applies the numbered SQL migrations to a schema, once each, under an advisory lock."""

from __future__ import annotations

import hashlib
from importlib import resources

import asyncpg


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) for every migrations/NNN_name.sql, in order."""
    out = []
    for entry in resources.files("projections.migrations").iterdir():
        if entry.name.endswith(".sql"):
            version = int(entry.name.split("_", 1)[0])
            out.append((version, entry.name, entry.read_text()))
    return sorted(out)


def _lock_key(schema: str) -> int:
    return int.from_bytes(hashlib.sha256(f"hive-migrate:{schema}".encode()).digest()[:8], "big", signed=True)


async def apply_migrations(conn: asyncpg.Connection, schema: str) -> list[str]:
    """Bring `schema` up to date; safe to call concurrently from every process. Returns what was applied."""
    applied: list[str] = []
    async with conn.transaction():
        # Serialises concurrent starters; released at commit.
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _lock_key(schema))
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        await conn.execute(
            f'CREATE TABLE IF NOT EXISTS "{schema}".schema_migrations '
            "(version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["version"] for r in await conn.fetch(f'SELECT version FROM "{schema}".schema_migrations')}
        await conn.execute(f'SET LOCAL search_path TO "{schema}"')
        for version, name, sql in migrations():
            if version in done:
                continue
            await conn.execute(sql)
            await conn.execute(
                f'INSERT INTO "{schema}".schema_migrations (version, name) VALUES ($1, $2)', version, name
            )
            applied.append(name)
    return applied
