"""The gateway with its PostgreSQL stopped: reads are 503 problems (not 500s), task submission still works
(it goes to NATS), and once PostgreSQL is back the same gateway reads again without a restart."""

from __future__ import annotations

import asyncpg
import msgspec

from core.ids import uuid7
from core.settings import Settings
from gateway.errors import UNREACHABLE, LogThrottle, status_of
from tests.integration.own_postgres import own_postgres
from tests.integration.test_gateway_support import auth, gateway


def test_connection_failures_are_503() -> None:
    for err in (ConnectionRefusedError(111, "refused"), asyncpg.CannotConnectNowError("shutting down"),
                asyncpg.AdminShutdownError("terminating"), asyncpg.ConnectionDoesNotExistError("closed")):
        assert isinstance(err, UNREACHABLE) and status_of(err) == 503
    assert status_of(ValueError("a bug")) == 500


def test_unreachable_is_logged_once_per_interval() -> None:
    throttle = LogThrottle(10.0)
    assert [throttle.admit(t) for t in (100.0, 101.0, 105.0, 110.0, 111.0, 125.0)] == [0, None, None, 2, None, 1]


async def test_reads_are_503_while_postgres_is_down_and_recover(settings: Settings) -> None:
    with own_postgres() as server:
        own = msgspec.structs.replace(settings, database_url=server.url)
        h = auth(own)
        async with gateway(own) as client:
            created = await client.post("/api/tasks", json={"title": "before"}, headers=h)
            assert created.status_code == 201, created.text
            task_id = created.json()["id"]
            server.stop()
            for path in (f"/api/tasks/{task_id}", f"/api/tasks/{uuid7()}", "/api/tasks", "/api/agents",
                         "/api/status/cluster"):
                r = await client.get(path, headers=h)
                assert r.status_code == 503, (path, r.status_code, r.text)
                assert r.headers["content-type"].startswith("application/problem+json")
                assert r.json()["type"] == "urn:hive:problem:unavailable" and r.headers["retry-after"] == "1"
            during = await client.post("/api/tasks", json={"title": "during"}, headers=h)
            assert during.status_code == 201, during.text
            # Dependencies are looked up in the read model first: that lookup is what cannot be answered.
            dependent = await client.post("/api/tasks", json={"title": "d", "depends_on": [task_id]}, headers=h)
            assert dependent.status_code == 503, dependent.text
            # A task's history comes from the log.
            history = await client.get(f"/api/tasks/{task_id}/events", headers=h)
            assert history.status_code == 200 and history.json()["items"][0]["type"] == "task.created.v1", history.text
            assert (await client.get("/ready")).status_code == 503
            server.start()
            # The pool's connections died with the server; the next requests open new ones.
            for task in (task_id, during.json()["id"]):
                r = await client.get(f"/api/tasks/{task}", headers=h)
                assert r.status_code == 200, r.text
            assert (await client.get("/api/tasks", headers=h)).status_code == 200
            assert (await client.get("/ready")).status_code == 200
