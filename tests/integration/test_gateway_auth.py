"""Bearer-token authentication and the role permission matrix on /api routes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.settings import Settings
from core.tokens import issue_token
from tests.integration.test_gateway_support import auth, gateway, token


def _problem(resp: object) -> None:
    assert resp.headers["content-type"].startswith("application/problem+json")  # type: ignore[attr-defined]


async def test_missing_bad_and_expired_tokens_are_401(settings: Settings) -> None:
    expired = issue_token(settings.jwt_secret, role="admin", subject="a", now=datetime.now(UTC) - timedelta(hours=2),
                          ttl=timedelta(hours=1))
    other_key = issue_token("another-secret-of-sufficient-length!", role="admin", subject="a",
                            now=datetime.now(UTC), ttl=timedelta(hours=1))
    cases = {
        "none": {},
        "not bearer": {"Authorization": f"Basic {token(settings)}"},
        "empty bearer": {"Authorization": "Bearer "},
        "garbage": {"Authorization": "Bearer not.a.jwt"},
        "other key": {"Authorization": f"Bearer {other_key}"},
        "expired": {"Authorization": f"Bearer {expired}"},
    }
    async with gateway(settings) as client:
        for name, headers in cases.items():
            for method, url in (("GET", "/api/tasks"), ("POST", "/api/tasks"), ("GET", "/api/agents")):
                resp = await client.request(method, url, headers=headers, json={"title": "a"})
                assert resp.status_code == 401, (name, url, resp.text)
                assert resp.headers["www-authenticate"].startswith("Bearer"), name
                _problem(resp)


async def test_viewer_cannot_create_but_can_read(settings: Settings) -> None:
    async with gateway(settings) as client:
        resp = await client.post("/api/tasks", json={"title": "a"}, headers=auth(settings, "viewer"))
        assert resp.status_code == 403, resp.text
        assert "tasks.create" in resp.json()["detail"]
        _problem(resp)
        # An agent token is for NATS only.
        assert (await client.get("/api/tasks", headers=auth(settings, "agent"))).status_code == 403
        for role in ("viewer", "developer", "admin"):
            assert (await client.get("/api/tasks", headers=auth(settings, role))).status_code == 200, role
            assert (await client.get("/api/agents", headers=auth(settings, role))).status_code == 200, role
        for role in ("developer", "admin"):
            resp = await client.post("/api/tasks", json={"title": role}, headers=auth(settings, role))
            assert resp.status_code == 201, role


async def test_health_and_ready_need_no_token(settings: Settings) -> None:
    async with gateway(settings) as client:
        health = await client.get("/health")
        assert health.status_code == 200 and health.json()["status"] == "ok"
        ready = await client.get("/ready")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"nats": "ok", "postgres": "ok"}
        assert health.headers["x-request-id"]
