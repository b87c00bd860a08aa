"""The gateway served by uvicorn (run_gateway) on a free port: real HTTP, concurrency, graceful stop; /ready 503."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import msgspec

from core.dev.ports import free_port
from core.settings import Settings
from core.store.connect import connect
from core.store.event_store import EventStore
from gateway.server import run_gateway
from gateway.services import Services
from tests.integration.served import served
from tests.integration.test_gateway_support import auth, gateway


async def test_run_gateway_serves_until_stopped(settings: Settings) -> None:
    settings = msgspec.structs.replace(settings, gateway_port=free_port())
    stop = asyncio.Event()
    async with served(settings, stop) as (client, serving):
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


async def test_sized_and_streamed_bodies_are_answered_alike(settings: Settings) -> None:
    # A body with a Content-Length is served by the route middleware, a chunked one by the route handler.
    settings = msgspec.structs.replace(settings, gateway_port=free_port())
    headers = {**auth(settings), "Content-Type": "application/json"}

    def streamed(body: bytes) -> AsyncIterator[bytes]:
        async def chunks() -> AsyncIterator[bytes]:
            yield body[:7]
            yield body[7:]
        return chunks()

    good, bad = b'{"title": "same", "priority": 3}', b'{"title": "x", "priority": "high"}'
    async with served(settings, asyncio.Event()) as (client, _):
        sized = await client.post("/api/tasks", content=good, headers=headers)
        chunked = await client.post("/api/tasks", content=streamed(good), headers=headers)
        sized_bad = await client.post("/api/tasks", content=bad, headers=headers)
        chunked_bad = await client.post("/api/tasks", content=streamed(bad), headers=headers)
    assert sized.status_code == chunked.status_code == 201
    assert sized.headers["location"] == f"/api/tasks/{sized.json()['id']}"
    for a, b in ((sized, chunked), (sized_bad, chunked_bad)):
        assert sorted(a.headers) == sorted(b.headers)
        assert a.headers["content-type"] == b.headers["content-type"]
    varying = ("id", "seq", "created_at", "updated_at")
    assert {k: v for k, v in sized.json().items() if k not in varying} == \
        {k: v for k, v in chunked.json().items() if k not in varying}
    assert sized_bad.status_code == chunked_bad.status_code == 400
    assert sized_bad.json() == chunked_bad.json()


async def test_a_write_while_the_event_stream_has_no_leader_is_503_to_retry_not_500(settings: Settings) -> None:
    # With the stream gone, a publish on its subjects gets "no responders", as it does for a moment while a
    # cluster elects the stream's new leader: the client is told to retry, and nothing is logged as a bug.
    async with gateway(settings) as client:
        nc, js = await connect(settings, "test-no-leader", ensure=False)
        try:
            await js.delete_stream(settings.events_stream)
        finally:
            await nc.close()
        resp = await client.post("/api/tasks", json={"title": "t", "prompt": "hi", "capabilities": ["echo"]},
                                 headers=auth(settings))
        assert resp.status_code == 503, resp.text
        assert resp.headers["retry-after"] == "1"
        assert "NoRespondersError" in resp.json()["detail"]
