"""A gateway served by uvicorn (run_gateway) on a free port, for tests that need real sockets (HTTP, WebSocket)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from core.settings import Settings
from core.tracing import Tracing
from gateway.server import run_gateway
from tests.helpers import wait_until


@asynccontextmanager
async def served(settings: Settings, stop: asyncio.Event,
                 tracing: Tracing | None = None) -> AsyncIterator[tuple[httpx.AsyncClient, asyncio.Task[None]]]:
    """run_gateway on a free port, and a client for it once /ready answers."""
    serving = asyncio.create_task(run_gateway(settings, stop, tracing))

    async def answers(client: httpx.AsyncClient) -> bool:
        if serving.done():
            serving.result()  # surface a start-up failure instead of waiting out the deadline
        try:
            return (await client.get("/ready")).status_code == 200
        except httpx.TransportError:
            return False

    try:
        async with httpx.AsyncClient(base_url=f"http://{settings.gateway_host}:{settings.gateway_port}") as client:
            await wait_until(lambda: answers(client), what="gateway ready")
            yield client, serving
    finally:
        stop.set()
        await asyncio.wait_for(serving, 30)
