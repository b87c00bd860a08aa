"""Rate limits (429 with Retry-After, per caller and role) and the gateway's Prometheus /metrics."""

from __future__ import annotations

import msgspec
from prometheus_client.parser import text_string_to_metric_families

from core.settings import Settings
from tests.integration.test_gateway_support import auth, gateway


async def test_rate_limit_answers_429_with_retry_after_per_caller(settings: Settings) -> None:
    limited = msgspec.structs.replace(settings, rate_limits={"tasks.create": {"developer": 3, "admin": 1000}})
    async with gateway(limited) as client:
        for i in range(3):
            resp = await client.post("/api/tasks", json={"title": f"t{i}"}, headers=auth(settings, "developer"))
            assert resp.status_code == 201, resp.text
        refused = await client.post("/api/tasks", json={"title": "t4"}, headers=auth(settings, "developer"))
        assert refused.status_code == 429, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        # 3 per minute: the next token comes in 20 s.
        assert 1 <= int(refused.headers["retry-after"]) <= 20
        assert "3 'tasks.create' requests per minute" in refused.json()["detail"]
        # Another developer has a bucket of their own; an admin a larger limit; reads are not limited.
        other = await client.post("/api/tasks", json={"title": "b"}, headers=auth(settings, "developer", "bob"))
        assert other.status_code == 201, other.text
        admin = await client.post("/api/tasks", json={"title": "a"}, headers=auth(settings, "admin"))
        assert admin.status_code == 201, admin.text
        assert (await client.get("/api/tasks", headers=auth(settings, "developer"))).status_code == 200


async def test_metrics_are_prometheus_text_with_the_named_metrics(settings: Settings) -> None:
    limited = msgspec.structs.replace(settings, rate_limits={"tasks.create": {"viewer": 0, "developer": 0}})
    async with gateway(limited) as client:
        assert (await client.get("/api/tasks", headers=auth(settings, "viewer"))).status_code == 200
        assert (await client.get("/api/tasks/nope", headers=auth(settings, "viewer"))).status_code == 404
        assert (await client.post("/api/tasks", json={"title": "x"}, headers=auth(settings))).status_code == 429
        assert (await client.post("/api/tasks", json={"title": "x"}, headers=auth(settings, "admin"))).status_code == 201
        resp = await client.get("/metrics")
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(resp.text)}
    for name in ("hive_api_request_duration_seconds", "hive_websocket_connections_active", "hive_api_errors",
                 "hive_events_appended", "hive_api_rate_limited"):
        assert name in families, sorted(families)
    counts = {
        (s.labels["method"], s.labels["route"], s.labels["status"]): s.value
        for s in families["hive_api_request_duration_seconds"].samples if s.name.endswith("_count")
    }
    # Routes are labelled by template, never by raw path.
    assert counts[("GET", "/api/tasks", "200")] >= 1
    assert counts[("GET", "/api/tasks/{task_id}", "404")] >= 1
    assert counts[("POST", "/api/tasks", "429")] >= 1
    appended = {s.labels["type"]: s.value for s in families["hive_events_appended"].samples
                if s.name == "hive_events_appended_total"}
    assert appended.get("task.created.v1", 0) >= 1  # the gateway appends the tasks it creates
    limited_samples = {s.labels["action"]: s.value for s in families["hive_api_rate_limited"].samples
                       if s.name == "hive_api_rate_limited_total"}
    assert limited_samples["tasks.create"] >= 1
