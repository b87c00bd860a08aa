"""The gateway's HTTP API as `hive mcp` calls it: one request with the caller's bearer token, its JSON back, and any
refusal as a GatewayError whose message says what the gateway said and what to do."""

from __future__ import annotations

from typing import Any

import httpx

from core.errors import HiveError

_HINTS = {
    401: "the token is missing, expired or not signed with the gateway's key: issue a new one (hive token issue)",
    403: "the token's role may not do this (viewer: read only; developer: tasks and workflows; admin: all)",
    404: "there is no such resource (check the id), or this gateway does not serve the route",
    429: "rate limited: wait and try again",
}


class GatewayError(HiveError):
    """The gateway refused or could not be reached; `status` is None when no answer came."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Gateway:
    """Calls the gateway at `base_url`; each call names the token it acts with."""

    def __init__(self, base_url: str, *, timeout_s: float = 30.0, transport: httpx.AsyncBaseTransport | None = None):
        self.base_url = base_url.rstrip("/")
        self._client = httpx.AsyncClient(base_url=self.base_url, timeout=timeout_s, transport=transport)

    async def close(self) -> None:
        await self._client.aclose()

    async def call(self, method: str, path: str, token: str | None, *, body: Any = None,
                   params: dict[str, Any] | None = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        query = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = await self._client.request(method, path, json=body, params=query, headers=headers)
        except httpx.HTTPError as err:
            raise GatewayError(f"cannot reach the gateway at {self.base_url}: {err or type(err).__name__}") from err
        if response.status_code >= 400:
            raise GatewayError(refusal(method, path, response), response.status_code)
        return response.json() if response.content else None


def refusal(method: str, path: str, response: httpx.Response) -> str:
    """`403 Forbidden on POST /api/tasks: <the gateway's detail> (<field>: <message>) - <what to do>`."""
    status = response.status_code
    detail, fields = response.reason_phrase, ""
    try:
        problem = response.json()
    except ValueError:
        problem = None
    if isinstance(problem, dict):
        detail = str(problem.get("detail") or problem.get("title") or detail)
        errors = problem.get("errors")
        if isinstance(errors, list) and errors:
            fields = " (" + "; ".join(f"{e.get('field')}: {e.get('message')}" for e in errors if isinstance(e, dict)) + ")"
    hint = _HINTS.get(status, "")
    return f"{status} {response.reason_phrase} on {method} {path}: {detail}{fields}" + (f" - {hint}" if hint else "")
