"""Issues and verifies the bearer JWTs used by the gateway (HS256 with a shared secret)."""

from __future__ import annotations

from datetime import datetime, timedelta

import jwt

ROLES = ("admin", "developer", "viewer", "agent")


class TokenError(Exception):
    """A token that is missing, malformed, expired or signed with another key."""


def issue_token(secret: str, *, role: str, subject: str, now: datetime, ttl: timedelta, algorithm: str = "HS256") -> str:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    claims = {"sub": subject, "roles": [role], "iat": int(now.timestamp()), "exp": int((now + ttl).timestamp())}
    return jwt.encode(claims, secret, algorithm=algorithm)


def verify_token(token: str, secret: str, *, algorithms: tuple[str, ...] = ("HS256",)) -> dict[str, object]:
    try:
        claims: dict[str, object] = jwt.decode(token, secret, algorithms=list(algorithms), options={"require": ["sub", "exp"]})
    except jwt.PyJWTError as err:
        raise TokenError(str(err)) from err
    roles = claims.get("roles")
    if not isinstance(roles, list) or not all(isinstance(r, str) and r in ROLES for r in roles):
        raise TokenError("token has no valid 'roles' claim")
    return claims
