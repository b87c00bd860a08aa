"""Parsing of query parameters shared by list endpoints; a bad value is a 400 naming the parameter."""

from __future__ import annotations

from typing import Any

from litestar import Request

from gateway.errors import invalid

DEFAULT_LIMIT, MAX_LIMIT = 50, 500


def limit_of(request: Request[Any, Any, Any]) -> int:
    raw = request.query_params.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise invalid("limit", f"must be an integer from 1 to {MAX_LIMIT}")
    return int(raw)


def choice_of(request: Request[Any, Any, Any], name: str, allowed: frozenset[str]) -> str | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if raw not in allowed:
        raise invalid(name, f"must be one of {', '.join(sorted(allowed))}")
    return raw
