"""Runs `hive mcp`: the tools over stdio with one token (the caller's, from HIVE_TOKEN or --token), or over
streamable HTTP where each request brings its own bearer token, passed on to the gateway unchanged."""

from __future__ import annotations

import msgspec
from mcp.server.mcpserver import Context

from core.mcp_bridge.gateway import Gateway
from core.mcp_bridge.tools import build_server


class McpSettings(msgspec.Struct, frozen=True, kw_only=True):
    gateway_url: str
    token: str | None = None
    # None: stdio; else serve streamable HTTP on host:port at /mcp.
    http_port: int | None = None
    http_host: str = "127.0.0.1"


def bearer_of(ctx: Context) -> str | None:
    """The bearer token of the HTTP request that carries this MCP request (None over stdio)."""
    headers = ctx.headers or {}
    value = headers.get("authorization") or headers.get("Authorization") or ""
    scheme, _, token = value.partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


async def run_mcp(settings: McpSettings) -> None:
    gateway = Gateway(settings.gateway_url)
    try:
        if settings.http_port is None:
            token = settings.token
            await build_server(gateway, lambda _ctx: token).run_stdio_async()
        else:
            # Never the configured token over HTTP: anyone who can reach the port would act with it.
            server = build_server(gateway, bearer_of)
            await server.run_streamable_http_async(host=settings.http_host, port=settings.http_port)
    finally:
        await gateway.close()
