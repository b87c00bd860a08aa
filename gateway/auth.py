"""Bearer-JWT authentication for /api routes, and guards that check the permission matrix."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import ASGIApp, Guard

from core.tokens import TokenError, verify_token
from gateway.permissions import allows


class Principal(msgspec.Struct, frozen=True):
    """Who is calling: the token's subject and roles."""

    subject: str
    roles: tuple[str, ...]


def _unauthorized(detail: str, error: str | None = None) -> NotAuthorizedException:
    challenge = f'Bearer error="{error}"' if error else "Bearer"
    return NotAuthorizedException(detail=detail, headers={"WWW-Authenticate": challenge})


class BearerAuthMiddleware(AbstractAuthenticationMiddleware):
    def __init__(self, app: ASGIApp, *, secret: str, algorithm: str) -> None:
        super().__init__(app)
        self._secret = secret
        self._algorithms = (algorithm,)

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        header = connection.headers.get("authorization")
        if not header:
            raise _unauthorized("missing bearer token: send 'Authorization: Bearer <token>' (see `hive token issue`)")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorized("the Authorization header must be 'Bearer <token>'", "invalid_request")
        try:
            claims = verify_token(token.strip(), self._secret, algorithms=self._algorithms)
        except TokenError as err:
            raise _unauthorized(f"invalid bearer token: {err}", "invalid_token") from err
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise _unauthorized("invalid bearer token: 'sub' must be a non-empty string", "invalid_token")
        roles = claims.get("roles")
        assert isinstance(roles, list)  # verify_token checked it is a list of known roles
        return AuthenticationResult(user=Principal(subject, tuple(roles)), auth=claims)


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    user = connection.scope.get("user")
    if not isinstance(user, Principal):
        # Only reachable if a route is mounted outside the authenticated router.
        raise _unauthorized("this route requires a bearer token")
    return user


def requires(permission: str) -> Guard:
    """A guard answering 403 when none of the caller's roles grants `permission`."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal = principal_of(connection)
        if not allows(principal.roles, permission):
            raise PermissionDeniedException(
                detail=f"role(s) {', '.join(principal.roles) or 'none'} lack the '{permission}' permission"
            )

    return guard
