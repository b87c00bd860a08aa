"""The `hive mcp` command line: where the gateway is, whose token, which transport (no MCP imports until run)."""

from __future__ import annotations

import argparse
import os
from typing import Any

from core.errors import ConfigError
from core.settings import Settings


def add_parser(sub: Any) -> argparse.ArgumentParser:
    mcp = sub.add_parser("mcp", help="serve Hive as an MCP server (stdio, or streamable HTTP with --http-port)")
    mcp.add_argument("--url", help="the gateway's base URL (default HIVE_GATEWAY_URL, else "
                                   "http://HIVE_GATEWAY_HOST:HIVE_GATEWAY_PORT)")
    mcp.add_argument("--token", help="bearer token to act with over stdio (default HIVE_TOKEN); its role decides "
                                     "what the tools may do")
    mcp.add_argument("--http-port", type=int, help="serve streamable HTTP at http://HOST:PORT/mcp instead of stdio; "
                                                   "each request acts with its own Authorization: Bearer token")
    mcp.add_argument("--http-host", default="127.0.0.1", help="address to bind with --http-port (default 127.0.0.1)")
    mcp.set_defaults(func=run_command)
    return mcp  # type: ignore[no-any-return]


def run_command(settings: Settings, args: argparse.Namespace, environ: dict[str, str] | None = None) -> int:
    env = dict(os.environ) if environ is None else environ
    try:
        from core.mcp_bridge.serve import McpSettings, run_mcp
    except ImportError as err:
        raise ConfigError(f"hive mcp needs the MCP SDK: pip install 'hive[mcp]' ({err})") from err
    host = "127.0.0.1" if settings.gateway_host in ("0.0.0.0", "::", "") else settings.gateway_host
    url = args.url or env.get("HIVE_GATEWAY_URL") or f"http://{host}:{settings.gateway_port}"
    token = args.token or env.get("HIVE_TOKEN") or None
    if args.http_port is None and not token:
        raise ConfigError("hive mcp over stdio acts with your token: set HIVE_TOKEN or pass --token "
                          "(hive token issue --role developer prints one)")
    import anyio

    anyio.run(run_mcp, McpSettings(gateway_url=url, token=token, http_port=args.http_port, http_host=args.http_host))
    return 0
