"""Bearer-token authentication and the role permission matrix on /api routes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from litestar import Litestar, Router, get
from litestar.middleware.base import DefineMiddleware
from litestar.testing import AsyncTestClient

from core.settings import Settings
from core.tokens import issue_token
from gateway.auth import Authenticator, BearerAuthMiddleware, needs
from gateway.errors import EXCEPTION_HANDLERS
from gateway.permissions import Permission
from gateway.rate_limit import RateLimiter
from tests.helpers import wait_until
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


async def test_a_cached_token_still_expires(settings: Settings) -> None:
    # The gateway remembers verified tokens; one that expires while remembered is refused all the same.
    short = issue_token(settings.jwt_secret, role="viewer", subject="v", now=datetime.now(UTC) - timedelta(seconds=59),
                        ttl=timedelta(seconds=61))
    async with gateway(settings) as client:
        assert (await client.get("/api/tasks", headers={"Authorization": f"Bearer {short}"})).status_code == 200

        async def refused() -> bool:
            resp = await client.get("/api/tasks", headers={"Authorization": f"Bearer {short}"})
            return resp.status_code == 401

        await wait_until(refused, timeout=10, interval=0.2, what="the remembered token to expire")


async def test_a_route_without_a_permission_is_refused(settings: Settings) -> None:
    @get("/open", sync_to_thread=False)
    def open_route() -> str:
        return "no permission declared"

    @get("/viewable", opt=needs(Permission.TASKS_VIEW), sync_to_thread=False)
    def viewable() -> str:
        return "ok"

    api = Router("/api", route_handlers=[open_route, viewable], middleware=[
        DefineMiddleware(BearerAuthMiddleware, limiter=RateLimiter({}),
                         authenticator=Authenticator(secret=settings.jwt_secret, algorithm=settings.jwt_algorithm))])
    app = Litestar([api], exception_handlers=EXCEPTION_HANDLERS)
    async with AsyncTestClient(app) as client:
        assert (await client.get("/api/viewable", headers=auth(settings, "viewer"))).status_code == 200
        assert (await client.get("/api/open", headers=auth(settings, "admin"))).status_code == 403
