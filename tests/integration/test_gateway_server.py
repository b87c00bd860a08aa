"""The gateway served by uvicorn (run_gateway) on a free port: real HTTP, concurrency, graceful stop; /ready 503."""

from __future__ import annotations

import asyncio

import httpx
import msgspec

from core.dev.ports import free_port
from core.settings import Settings
from core.store.connect import connect
from core.store.event_store import EventStore
from gateway.server import run_gateway
from gateway.services import Services
from tests.helpers import wait_until
from tests.integration.test_gateway_support import auth, gateway


async def test_run_gateway_serves_until_stopped(settings: Settings) -> None:
    settings = msgspec.structs.replace(settings, gateway_port=free_port())
    stop = asyncio.Event()
    serving = asyncio.create_task(run_gateway(settings, stop))
    base = f"http://{settings.gateway_host}:{settings.gateway_port}"

    async def answers(client: httpx.AsyncClient) -> bool:
        if serving.done():
            serving.result()  # surface a start-up failure instead of waiting out the deadline
        try:
            return (await client.get("/ready")).status_code == 200
        except httpx.TransportError:
            return False

    async with httpx.AsyncClient(base_url=base) as client:
        await wait_until(lambda: answers(client), what="gateway ready")
        headers = {**auth(settings), "Idempotency-Key": "over-http"}
        replies = await asyncio.gather(
            *(client.post("/api/tasks", json={"title": "real http"}, headers=headers) for _ in range(5))
        )
        assert sorted(r.status_code for r in replies) == [200, 200, 200, 200, 201]
        task_id = replies[0].json()["id"]
        oversized = await client.post("/api/tasks", content=b"x" * (2 * 1024 * 1024),
                                      headers={**auth(settings), "Content-Type": "application/json"})
        assert oversized.status_code == 413
    stop.set()
    await asyncio.wait_for(serving, 30)
    nc, js = await connect(settings, "test-reader", ensure=False)
    try:
        assert len(await EventStore(nc, js, settings).load("task", task_id)) == 1
    finally:
        await nc.close()


async def test_ready_is_503_when_postgres_is_gone(settings: Settings) -> None:
    async with gateway(settings) as client:
        services = client.app.state["services"]
        assert isinstance(services, Services)
        # The test client runs the app on its own loop (a portal thread): close the pool there.
        await asyncio.to_thread(client.blocking_portal.call, services.pool.close)
        resp = await client.get("/ready")
        assert resp.status_code == 503
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert resp.json()["checks"]["nats"] == "ok"
        assert resp.json()["checks"]["postgres"].startswith("unavailable")
        assert (await client.get("/health")).status_code == 200


async def test_ready_is_503_when_nats_is_gone(settings: Settings) -> None:
    async with gateway(settings) as client:
        services = client.app.state["services"]
        assert isinstance(services, Services)
        await asyncio.to_thread(client.blocking_portal.call, services.nc.close)
        resp = await client.get("/ready")
        assert resp.status_code == 503
        assert resp.json()["checks"]["nats"].startswith("unavailable")
