"""Read-your-writes: writes answer their event's `seq`; reads with `min_seq` wait for the read models (bounded)."""

from __future__ import annotations

import asyncio

import msgspec

from core.settings import Settings
from core.dev.ports import free_port
from projections.service import running_projector
from tests.integration.served import served
from tests.integration.test_gateway_support import auth, gateway


async def test_a_list_read_with_min_seq_sees_the_write(settings: Settings) -> None:
    # A real server in this event loop: the test client would run the app where the projector cannot progress.
    settings = msgspec.structs.replace(settings, gateway_port=free_port())
    async with served(settings, asyncio.Event()) as (client, _), running_projector(settings):
        for i in range(5):
            created = await client.post("/api/tasks", json={"title": f"t{i}"}, headers=auth(settings))
            assert created.status_code == 201, created.text
        seq = created.json()["seq"]
        assert seq >= 5
        # The list is served from the read model only: without min_seq it may not have the task yet.
        page = await client.get("/api/tasks", params={"min_seq": seq, "limit": 1}, headers=auth(settings, "viewer"))
        assert page.status_code == 200, page.text
        assert page.json()["items"][0]["id"] == created.json()["id"]
        assert page.json()["items"][0]["seq"] >= seq


async def test_min_seq_beyond_the_read_models_is_503_after_the_bound(settings: Settings) -> None:
    impatient = msgspec.structs.replace(settings, min_seq_wait_s=0.2)
    async with gateway(impatient) as client:
        # No projector runs: the write is in the log, never in the read models.
        seq = (await client.post("/api/tasks", json={"title": "t"}, headers=auth(settings))).json()["seq"]
        resp = await client.get("/api/agents", params={"min_seq": seq}, headers=auth(settings, "viewer"))
        assert resp.status_code == 503, resp.text
        assert resp.headers["retry-after"] == "1"
        assert "min_seq" in resp.json()["detail"]
        assert (await client.get("/api/agents", params={"min_seq": 0}, headers=auth(settings))).status_code == 200
        # A sequence the log has not reached is no write's answer: a 400, not a wait.
        beyond = await client.get("/api/agents", params={"min_seq": seq + 1}, headers=auth(settings, "viewer"))
        assert beyond.status_code == 400, beyond.text
        assert beyond.json()["errors"][0]["field"] == "min_seq"


async def test_a_malformed_min_seq_is_400_naming_it(settings: Settings) -> None:
    async with gateway(settings) as client:
        for bad in ("-1", "x", "1.5", "99999999999999999999", ""):
            resp = await client.get("/api/tasks", params={"min_seq": bad}, headers=auth(settings, "viewer"))
            assert resp.status_code == 400, (bad, resp.text)
            assert resp.json()["errors"][0]["field"] == "min_seq"
        # A caller without the read permission is refused before being made to wait.
        resp = await client.get("/api/tasks", params={"min_seq": 10**9}, headers=auth(settings, "agent"))
        assert resp.status_code == 403


async def test_an_unauthenticated_options_request_ignores_min_seq(settings: Settings) -> None:
    # OPTIONS skips authentication: min_seq must neither make it wait nor reveal the log's or read models' sequence.
    impatient = msgspec.structs.replace(settings, min_seq_wait_s=0.2)
    async with gateway(impatient) as client:
        seq = (await client.post("/api/tasks", json={"title": "t"}, headers=auth(settings))).json()["seq"]
        for min_seq in (seq, seq + 100, "x"):
            resp = await client.options("/api/tasks", params={"min_seq": min_seq})
            assert resp.status_code not in (400, 503), resp.text
            assert "sequence" not in resp.text
