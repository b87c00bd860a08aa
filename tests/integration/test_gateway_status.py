"""GET /api/status/cluster, /api/status/agents and /api/metrics/performance over known read-model rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.ids import uuid7
from core.settings import Settings
from tests.integration.test_gateway_support import auth, gateway, insert_agent, insert_task


async def _fleet(settings: Settings) -> datetime:
    """Two online agents of 2 slots; a1 busy with two tasks; a2 finished 3 (run 1, 2, 3 s) and failed 1."""
    now = datetime.now(UTC)
    await insert_agent(settings, "a1")
    await insert_agent(settings, "a2")
    await insert_agent(settings, "a3", status="offline")
    for status in ("running", "assigned"):
        await insert_task(settings, uuid7(), created_at=now, status=status, assigned_agent_id="a1")
    await insert_task(settings, uuid7(), created_at=now, status="queued")
    for run_s in (1, 2, 3):
        created = now - timedelta(seconds=30)
        await insert_task(settings, uuid7(), created_at=created, status="completed", assigned_agent_id="a2",
                          assigned_at=created + timedelta(seconds=1), started_at=created + timedelta(seconds=1),
                          finished_at=created + timedelta(seconds=1 + run_s))
    await insert_task(settings, uuid7(), created_at=now - timedelta(seconds=20), status="failed",
                      assigned_agent_id="a2", started_at=now - timedelta(seconds=19), finished_at=now - timedelta(seconds=5))
    # Outside every window.
    old = now - timedelta(hours=3)
    await insert_task(settings, uuid7(), created_at=old, status="completed", assigned_agent_id="a2",
                      started_at=old, finished_at=old + timedelta(seconds=100))
    return now


async def test_cluster_status_counts_slots_and_throughput(settings: Settings) -> None:
    async with gateway(settings) as client:
        await _fleet(settings)
        resp = await client.get("/api/status/cluster", headers=auth(settings, "viewer"))
        assert resp.status_code == 200, resp.text
        body = resp.json()
    assert body["tasks"] == {"running": 1, "assigned": 1, "queued": 1, "completed": 4, "failed": 1}
    assert body["agents"] == {"online": 2, "offline": 1}
    assert (body["slots_total"], body["slots_busy"], body["utilization_percent"]) == (4, 2, 50.0)
    assert body["completed_last_minute"] == 3 and body["completed_last_5_minutes"] == 3
    assert body["throughput_per_s"] == pytest.approx(3 / 300)
    assert body["read_model_seq"] == 0  # no projector ran: rows were written directly
    assert body["stream_seq"] == 0 and body["projection_lag_events"] == 0


async def test_cluster_utilization_stays_within_100_percent(settings: Settings) -> None:
    async with gateway(settings) as client:
        now = await _fleet(settings)
        # Tasks still held by the offline agent: busy, but its slots are not counted.
        for _ in range(3):
            await insert_task(settings, uuid7(), created_at=now, status="running", assigned_agent_id="a3")
        body = (await client.get("/api/status/cluster", headers=auth(settings, "viewer"))).json()
    assert (body["slots_total"], body["slots_busy"], body["utilization_percent"]) == (4, 5, 100.0)


async def test_agent_statuses_page_by_id(settings: Settings) -> None:
    async with gateway(settings) as client:
        await _fleet(settings)
        first = await client.get("/api/status/agents", params={"limit": 2}, headers=auth(settings, "developer"))
        assert first.status_code == 200, first.text
        rest = await client.get("/api/status/agents", params={"cursor": first.json()["next_cursor"]},
                                headers=auth(settings, "developer"))
    a1, a2 = first.json()["items"]
    assert [a["id"] for a in rest.json()["items"]] == ["a3"] and rest.json()["next_cursor"] is None
    assert (a1["running"], a1["utilization_percent"], a1["completed_last_hour"]) == (2, 100.0, 0)
    assert (a2["running"], a2["completed_last_hour"], a2["failed_last_hour"]) == (0, 3, 1)
    assert a2["avg_run_s_last_hour"] == pytest.approx(2.0)


async def test_performance_over_a_window(settings: Settings) -> None:
    async with gateway(settings) as client:
        await _fleet(settings)
        resp = await client.get("/api/metrics/performance", params={"window_s": 600}, headers=auth(settings, "admin"))
        assert resp.status_code == 200, resp.text
        day = await client.get("/api/metrics/performance", params={"window_s": 86400}, headers=auth(settings, "admin"))
        bad = await client.get("/api/metrics/performance", params={"window_s": 5}, headers=auth(settings, "admin"))
    body = resp.json()
    assert (body["completed"], body["failed"], body["timed_out"], body["cancelled"]) == (3, 1, 0, 0)
    assert body["success_rate"] == pytest.approx(0.75)
    assert body["run_s"]["p50"] == pytest.approx(2.0)
    assert body["run_s"]["p99"] == pytest.approx(2.98)
    assert body["queue_wait_s"]["p50"] == pytest.approx(1.0)
    assert body["total_s"]["p95"] == pytest.approx(3.9)
    assert body["utilization_percent"] == 50.0
    assert day.json()["completed"] == 4
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "window_s"


async def test_status_needs_status_view(settings: Settings) -> None:
    async with gateway(settings) as client:
        for url in ("/api/status/cluster", "/api/status/agents", "/api/metrics/performance"):
            assert (await client.get(url, headers=auth(settings, "agent"))).status_code == 403
            assert (await client.get(url)).status_code == 401
