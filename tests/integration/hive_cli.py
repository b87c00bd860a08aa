"""Runs the `hive` command as a process against a test's servers (no tests here)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


async def run_hive(settings: Settings, *args: str, timeout: float = 60.0) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of `hive <args>` with the test's NATS, PostgreSQL, prefix and schema."""
    env = dict(os.environ, HIVE_NATS_URL=settings.nats_url, HIVE_DATABASE_URL=settings.database_url,
               HIVE_PREFIX=settings.prefix, HIVE_DB_SCHEMA=settings.db_schema, HIVE_LOG_LEVEL="WARNING",
               HIVE_AUDIT_KEY=settings.audit_key,
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "core.cli", *args, env=env, cwd=ROOT,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()
