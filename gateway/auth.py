"""Bearer-JWT authentication for /api routes and the permission check each route declares with `needs`."""

from __future__ import annotations

import functools
import math
from typing import Any

import msgspec
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.types import ASGIApp, Receive, Scope, Send

from core.metrics import RATE_LIMITED
from core.settings import Settings
from core.tokens import Key, TokenError, verification_key, verify_token
from gateway.errors import TooManyRequests
from gateway.permissions import Permission, allows
from gateway.rate_limit import RateLimiter
from gateway.raw_http import header
from gateway.token_cache import VerifiedTokens

_PERMISSION_OPT = "permission"


@functools.lru_cache(maxsize=1024)
def _allows(roles: tuple[str, ...], permission: str) -> bool:
    return allows(roles, permission)  # a handful of role sets and permissions: the answers are few


class Principal(msgspec.Struct, frozen=True):
    """Who is calling: the token's subject and roles."""

    subject: str
    roles: tuple[str, ...]


def needs(permission: Permission) -> dict[str, Any]:
    """Route `opt` naming the permission a caller's roles must grant: `@get(..., opt=needs(...))`."""
    return {_PERMISSION_OPT: permission}


def _unauthorized(detail: str, error: str | None = None) -> NotAuthorizedException:
    challenge = f'Bearer error="{error}"' if error else "Bearer"
    return NotAuthorizedException(detail=detail, headers={"WWW-Authenticate": challenge})


class Authenticator:
    """Turns an `Authorization` header (or a browser's `?token=`) into a Principal, or a 401 error."""

    def __init__(self, *, secret: Key, algorithm: str) -> None:
        self._secret = secret
        # Only the configured algorithm: a token signed otherwise ('none', or HS256 with the public key as
        # its secret) is refused whatever it claims in its header.
        self._algorithms = (algorithm,)
        # Verifying an HS256 JWT costs ~70 µs; a client sends the same token with every request.
        self._verified: VerifiedTokens[Principal] = VerifiedTokens()

    @classmethod
    def from_settings(cls, settings: Settings) -> Authenticator:
        """Checks tokens with the configured key; raises TokenConfigError (at start) when RS256 has no public key."""
        return cls(secret=verification_key(settings), algorithm=settings.jwt_algorithm)

    def from_header(self, header: bytes | None) -> Principal:
        if not header:
            raise _unauthorized("missing bearer token: send 'Authorization: Bearer <token>' (see `hive token issue`)")
        scheme, _, raw = header.decode("latin-1").partition(" ")
        token = raw.strip()
        if scheme.lower() != "bearer" or not token:
            raise _unauthorized("the Authorization header must be 'Bearer <token>'", "invalid_request")
        return self.from_token(token)

    def from_token(self, token: str) -> Principal:
        principal = self._verified.get(token)
        if principal is not None:
            return principal
        try:
            claims = verify_token(token, self._secret, algorithms=self._algorithms)
        except TokenError as err:
            raise _unauthorized(f"invalid bearer token: {err}", "invalid_token") from err
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise _unauthorized("invalid bearer token: 'sub' must be a non-empty string", "invalid_token")
        roles = claims.get("roles")
        assert isinstance(roles, list)  # verify_token checked it is a list of known roles
        principal = Principal(subject, tuple(roles))
        # PyJWT has checked `exp` and compares int(exp) with the clock; the cache ends the token at the same time.
        self._verified.put(token, principal, float(int(claims["exp"])))  # type: ignore[call-overload]
        return principal


class BearerAuthMiddleware:
    """Sets `scope["user"]` to the caller's Principal (401 without a valid token), then checks the permission
    (403) and the caller's rate limit for it (429 with Retry-After).

    The checks live here, not in guards: Litestar copies the route handler for every guard call, which
    cost more than the rest of a cached authentication. A route without a declared permission is refused.
    """

    def __init__(self, app: ASGIApp, *, authenticator: Authenticator, limiter: RateLimiter) -> None:
        self.app = app
        self._authenticator = authenticator
        self._limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and scope.get("method") != "OPTIONS":
            principal = self._authenticator.from_header(header(scope, b"authorization"))
            scope["user"] = principal
            scope["auth"] = principal
            permission = scope["route_handler"].opt.get(_PERMISSION_OPT)
            if permission is None or not may(principal, permission):
                raise PermissionDeniedException(
                    detail=f"role(s) {', '.join(principal.roles) or 'none'} lack the '{permission}' permission"
                )
            wait = self._limiter.take(principal.subject, principal.roles, permission)
            if wait:
                raise _too_many(principal, permission, wait, self._limiter.limit_of(principal.roles, permission))
        await self.app(scope, receive, send)


def _too_many(principal: Principal, action: str, wait: float, limit: int | None) -> TooManyRequests:
    RATE_LIMITED.labels(action, ",".join(principal.roles)).inc()
    if limit == 0:
        return TooManyRequests(f"the rate limit for '{action}' is 0 requests per minute for role(s) "
                               f"{', '.join(principal.roles)}", headers={"Retry-After": "3600"})
    # Retry-After takes whole seconds; rounding up means a retry at that time finds a token.
    return TooManyRequests(f"rate limit of {limit} '{action}' requests per minute reached; retry in {wait:.1f} s",
                           headers={"Retry-After": str(max(1, math.ceil(wait)))})


def may(principal: Principal, permission: str) -> bool:
    return _allows(principal.roles, permission)


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    user = connection.scope.get("user")
    if not isinstance(user, Principal):
        # Only reachable if a route is mounted outside the authenticated router.
        raise _unauthorized("this route requires a bearer token")
    return user
