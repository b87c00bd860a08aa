"""Alerts end to end on real servers: heartbeats -> the coordinator's rules -> alert events -> the read model
(GET /api/alerts) and WebSocket subscribers of alerts.<severity>; a restarted coordinator raises nothing twice."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgspec
import websockets
from websockets.asyncio.client import ClientConnection

from core.coordinator.service import Coordinator
from core.dev.ports import free_port
from core.ids import uuid7
from core.messages import Heartbeat, Registered
from core.settings import Settings
from core.store.connect import connect
from core.store.event_store import EventStore
from gateway.cursor import TimeCursor, encode_cursor
from projections.service import running_projector
from tests.helpers import wait_until
from tests.integration.served import served
from tests.integration.test_gateway_support import auth, gateway, token

RULES = {
    # Raised at the first breaching heartbeat, and again right after a resolve: the test need not wait out a hold.
    "high_cpu": {"for_s": 0, "cooldown_s": 0},
    # Silent for 2 s is down; the agents that should stay up beat every 0.1 s.
    "agent_down": {"threshold": 2.0},
}


class Fleet:
    """Fake sidecars: registration reports, and heartbeats in the bucket (one loop beating for the live ones)."""

    def __init__(self, settings: Settings, js: Any) -> None:
        self.settings, self.js = settings, js
        self.cpu: dict[str, float] = {}

    async def register(self, agent_id: str) -> None:
        report = Registered(agent_id=agent_id, sent_at=datetime.now(UTC), name=agent_id, session_id=uuid7(),
                            capabilities={"echo": 1.0})
        await self.js.publish(self.settings.report_subject(agent_id, "registered"), msgspec.json.encode(report))

    async def beat(self, agent_id: str, cpu: float) -> None:
        kv = await self.js.key_value(self.settings.heartbeat_bucket)
        beat = Heartbeat(agent_id=agent_id, session_id="s", sent_at=datetime.now(UTC), cpu_percent=cpu)
        await kv.put(agent_id, msgspec.json.encode(beat))

    async def beating(self) -> None:
        while True:
            for agent_id, cpu in list(self.cpu.items()):
                await self.beat(agent_id, cpu)
            await asyncio.sleep(0.1)


@asynccontextmanager
async def coordinator(settings: Settings) -> AsyncIterator[Coordinator]:
    nc, js = await connect(settings, "coordinator")
    c = Coordinator(settings, nc, js)
    try:
        await c.start()
        yield c
    finally:
        await c.stop()
        await nc.close()


async def alert_message(ws: ClientConnection, match: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The next `data` message whose stored event matches (other alerts may come between)."""
    async def find() -> dict[str, Any]:
        while True:
            msg = json.loads(await ws.recv())
            if msg["type"] == "data" and match(msg["data"]):
                return msg  # type: ignore[no-any-return]

    return await asyncio.wait_for(find(), 30)


def is_(type_: str, rule: str, subject: str) -> Callable[[dict[str, Any]], bool]:
    return lambda e: e["type"] == type_ and e["data"]["rule"] == rule and e["data"]["subject"] == subject


async def test_alerts_are_raised_served_pushed_and_resolved(settings: Settings) -> None:
    settings = msgspec.structs.replace(settings, gateway_port=free_port(), alert_rules=RULES, alert_interval_s=0.05)
    nc, js = await connect(settings, "test-fleet")
    fleet = Fleet(settings, js)
    beating = asyncio.create_task(fleet.beating())
    try:
        async with running_projector(settings), coordinator(settings) as coord, \
                served(settings, asyncio.Event()) as (http, _):
            headers = {"Authorization": f"Bearer {token(settings, 'viewer')}"}
            async with websockets.connect(f"ws://{settings.gateway_host}:{settings.gateway_port}/ws",
                                          additional_headers=headers) as ws:
                for i, topic in enumerate(("alerts.warning", "alerts.critical")):
                    await ws.send(json.dumps({"id": f"s{i}", "type": "subscribe", "topic": topic}))
                    assert json.loads(await ws.recv())["data"]["subscribed"]

                async def listed(query: str, rule: str, subject: str) -> dict[str, Any] | None:
                    body = (await http.get(f"/api/alerts?{query}", headers=auth(settings, "viewer"))).json()
                    return next((a for a in body["items"] if (a["rule"], a["subject"]) == (rule, subject)), None)

                # An agent whose heartbeats say CPU 95 %: high_cpu (warning).
                fleet.cpu["gpu-hot"] = 95.0
                await fleet.register("gpu-hot")
                raised = await alert_message(ws, is_("alert.raised.v1", "high_cpu", "gpu-hot"))
                assert raised["topic"] == "alerts.warning"
                assert raised["data"]["data"]["value"] == 95.0 and raised["data"]["aggregate"] == "system"
                row = await wait_until(lambda: listed("status=raised&severity=warning", "high_cpu", "gpu-hot"),
                                       what="high_cpu in GET /api/alerts")
                assert (row["severity"], row["value"], row["threshold"]) == ("warning", 95.0, 85.0)
                assert row["id"] == raised["data"]["data"]["alert_id"] and row["resolved_at"] is None

                # Its CPU drops: resolved.
                fleet.cpu["gpu-hot"] = 10.0
                resolved = await alert_message(ws, is_("alert.resolved.v1", "high_cpu", "gpu-hot"))
                assert resolved["topic"] == "alerts.warning" and resolved["data"]["data"]["alert_id"] == row["id"]
                row = await wait_until(lambda: listed("status=resolved", "high_cpu", "gpu-hot"),
                                       what="high_cpu resolved in GET /api/alerts")
                assert row["resolved_value"] == 10.0 and row["resolved_at"] >= row["raised_at"]
                assert await listed("status=raised", "high_cpu", "gpu-hot") is None

                # An agent that goes silent: agent_down (critical).
                await fleet.beat("gpu-quiet", 5.0)
                await fleet.register("gpu-quiet")
                down = await alert_message(ws, is_("alert.raised.v1", "agent_down", "gpu-quiet"))
                assert down["topic"] == "alerts.critical" and down["data"]["data"]["measure"] == "heartbeat_age_s"
                row = await wait_until(lambda: listed("severity=critical&status=raised", "agent_down", "gpu-quiet"),
                                       what="agent_down in GET /api/alerts")
                assert row["value"] > 2.0
                # The hot agent kept beating: it is not down.
                assert await listed("severity=critical", "agent_down", "gpu-hot") is None
                assert coord.alerts.book["alert.agent_down.gpu-quiet"].open_id == row["id"]
                # alerts.view is the viewer's and admin's, not the developer's.
                assert (await http.get("/api/alerts", headers=auth(settings, "developer"))).status_code == 403
                bad = await http.get("/api/alerts?severity=loud", headers=auth(settings, "viewer"))
                assert bad.status_code == 400 and "severity" in bad.text
    finally:
        beating.cancel()
        with suppress(asyncio.CancelledError):
            await beating
        await nc.close()


async def test_a_restarted_coordinator_rebuilds_open_alerts_from_the_log(settings: Settings) -> None:
    settings = msgspec.structs.replace(settings, alert_rules=RULES, alert_interval_s=0.05)
    nc, js = await connect(settings, "test-fleet")
    fleet, store = Fleet(settings, js), EventStore(nc, js, settings)
    key = "alert.agent_down.gpu-gone"

    async def history() -> list[str]:
        return [r.envelope.type for r in await store.load("system", key)]

    try:
        async with coordinator(settings) as first:
            await fleet.beat("gpu-gone", 1.0)
            await fleet.register("gpu-gone")
            await wait_until(lambda: first.alerts.book.get(key) and first.alerts.book[key].open_id,
                             what="agent_down raised")
        async with coordinator(settings) as second:
            # The book is folded from the log before the first evaluation: open, so never raised again.
            assert second.alerts.book[key].open_id == first.alerts.book[key].open_id
            rounds = second.alerts.evaluations
            await wait_until(lambda: second.alerts.evaluations >= rounds + 5, what="five evaluations")
            assert await history() == ["alert.raised.v1"]
            # It comes back: resolved, once.
            await fleet.beat("gpu-gone", 1.0)
            await wait_until(lambda: _eq(history(), ["alert.raised.v1", "alert.resolved.v1"]), what="resolved")
    finally:
        await nc.close()


async def _eq(value: Any, want: Any) -> bool:
    return bool(await value == want)


async def test_alerts_page_newest_first_and_filter(settings: Settings) -> None:
    async with gateway(settings) as client:  # applies the migrations
        conn = await asyncpg.connect(settings.database_url, server_settings={"search_path": settings.db_schema})
        try:
            for i, (severity, status) in enumerate([("warning", "resolved"), ("critical", "raised"),
                                                    ("warning", "raised")]):
                await conn.execute(
                    "INSERT INTO alerts (id, rule, subject, severity, status, measure, op, threshold, value, message, "
                    "raised_at, last_seq) VALUES ($1, 'r', 's', $2, $3, 'cpu_percent', '>', 85, 90, 'm', $4, $5)",
                    f"a{i}", severity, status, datetime(2025, 1, 1, 0, i, tzinfo=UTC), i + 1)
        finally:
            await conn.close()
        headers = auth(settings, "admin")
        first = (await client.get("/api/alerts?limit=2", headers=headers)).json()
        assert [a["id"] for a in first["items"]] == ["a2", "a1"] and first["next_cursor"]
        rest = (await client.get(f"/api/alerts?limit=2&cursor={first['next_cursor']}", headers=headers)).json()
        assert [a["id"] for a in rest["items"]] == ["a0"] and rest["next_cursor"] is None
        warnings = (await client.get("/api/alerts?severity=warning&status=raised", headers=headers)).json()
        assert [a["id"] for a in warnings["items"]] == ["a2"]
        assert warnings["items"][0]["seq"] == 3 and warnings["items"][0]["resolved_at"] is None
        # A forged cursor is a 400 naming it, even one whose id PostgreSQL could not take (NUL).
        forged = encode_cursor(TimeCursor(datetime(2025, 1, 1, tzinfo=UTC), "a\x00"))
        bad = await client.get(f"/api/alerts?cursor={forged}", headers=headers)
        assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "cursor"
        # ... or one whose time is out of range in UTC (0001-01-01 at +23:59).
        for at in (b'"0001-01-01T00:00:00+23:59"', b'"9999-12-31T23:59:59-23:59"'):
            forged = base64.urlsafe_b64encode(b"[" + at + b',"a"]').decode().rstrip("=")
            for path in ("/api/alerts", "/api/tasks"):
                bad = await client.get(f"{path}?cursor={forged}", headers=headers)
                assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "cursor", (path, bad.text)
