"""Every /api route answers 401 without a token and 403 to each role its permission does not grant."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.handlers import HTTPRouteHandler

from core.ids import uuid7
from core.settings import Settings
from gateway.app import create_app
from gateway.permissions import allows
from tests.integration.test_gateway_support import auth, gateway

ROLES = ("admin", "developer", "viewer", "agent")


def _api_operations(app: Litestar) -> list[tuple[str, str, str]]:
    """(method, path with ids filled in, permission) for every /api route of the real app."""
    out = []
    for route in app.routes:
        if not route.path.startswith("/api"):
            continue
        for handler in getattr(route, "route_handlers", ()):
            if not isinstance(handler, HTTPRouteHandler) or handler.http_methods == {"OPTIONS"}:
                continue  # Litestar's own answer to CORS preflights
            permission = handler.opt.get("permission")
            assert permission, f"{route.path} declares no permission"
            path = route.path_format
            for name in route.path_parameters:
                path = path.replace("{" + name + "}", uuid7())
            for method in handler.http_methods:
                if method != "OPTIONS":
                    out.append((method, path, str(permission)))
    return out


async def test_every_route_is_401_without_a_token_and_403_without_the_permission(settings: Settings) -> None:
    operations = _api_operations(create_app(settings))
    assert len(operations) >= 11  # the contract's routes, so a broken enumeration cannot pass silently
    body: dict[str, Any] = {"title": "roles"}
    async with gateway(settings) as client:
        for method, path, permission in operations:
            anonymous = await client.request(method, path, json=body)
            assert anonymous.status_code == 401, (method, path, anonymous.text)
            for role in ROLES:
                resp = await client.request(method, path, json=body, headers=auth(settings, role, f"u-{role}"))
                if allows([role], permission):
                    assert resp.status_code not in (401, 403), (method, path, role, resp.text)
                else:
                    assert resp.status_code == 403, (method, path, role, resp.text)
                    assert permission in resp.json()["detail"]
