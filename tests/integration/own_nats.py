"""A nats-server of a test's own (it will be killed and restarted), with settings and a reconnecting client."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import nats
from nats.aio.client import Client as NATS

from core.dev.embedded_nats import EmbeddedNats
from core.settings import Settings, load_settings


@asynccontextmanager
async def own_nats(prefix: str) -> AsyncIterator[tuple[EmbeddedNats, Settings, NATS]]:
    home = Path(tempfile.mkdtemp(prefix=f"hive-{prefix}-"))
    server = EmbeddedNats(home / "nats")
    settings = load_settings({}, nats_url=server.start(), prefix=prefix, jwt_secret="x" * 64)
    nc = await nats.connect(settings.nats_url, max_reconnect_attempts=-1, reconnect_time_wait=0.1)
    try:
        yield server, settings, nc
    finally:
        await nc.close()
        server.stop()
        shutil.rmtree(home, ignore_errors=True)
