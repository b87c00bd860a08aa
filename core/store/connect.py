"""Opens a NATS connection that reconnects forever and makes sure the streams exist."""

from __future__ import annotations

import logging
from urllib.parse import urlparse

import nats
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from core.runtime import retrying
from core.settings import Settings
from core.store.streams import ensure_streams
from core.store.transient import TRANSIENT

log = logging.getLogger(__name__)


async def connect(settings: Settings, name: str, *, ensure: bool = True) -> tuple[NATS, JetStreamContext]:
    async def on_error(err: Exception) -> None:
        log.warning("nats (%s): %s", name, err)

    servers = server_urls(settings.nats_url)
    nc = await nats.connect(
        servers,
        name=name,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        error_cb=on_error,
        inbox_prefix=settings.nats_inbox_prefix,
        **credentials(servers),
    )
    js = nc.jetstream(timeout=10.0)
    if ensure:
        # A cluster just started, or electing a leader after losing a node, answers with timeouts for a while.
        await retrying(lambda: ensure_streams(js, settings), "creating the streams (JetStream must be enabled)",
                       only=TRANSIENT)
    return nc, js


def server_urls(nats_url: str) -> list[str]:
    """HIVE_NATS_URL may list several servers of a cluster, comma-separated (tried in turn at start)."""
    return [url.strip() for url in nats_url.split(",") if url.strip()]


def credentials(servers: list[str]) -> dict[str, str]:
    """The first URL's user and password (or token) as options, so nats-py presents them to every server:
    one it learns of from the cluster comes without them, and failing over to it would be refused."""
    url = urlparse(servers[0]) if servers else None
    if url is None or url.username is None:
        return {}
    if url.password is None:
        return {"token": url.username}
    return {"user": url.username, "password": url.password}
