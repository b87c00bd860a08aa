"""The sidecar's optional [http] and [mcp] tables: executors a task picks by its payload's `kind`."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from agent_sidecar.errors import ConfigError, located
from agent_sidecar.http_credentials import HttpCredential, credential_capabilities

PositiveSeconds = Annotated[float, Meta(gt=0.0)]
# An MCP server's name is what a task's payload names; keep it a plain token.
ServerName = Annotated[str, Meta(pattern=r"^[A-Za-z0-9_.-]+$", max_length=128)]

DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024


class HttpConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """[http]: tasks with kind "http" make one HTTP request to a host on the allowlist."""

    # `host`, `host:port`, `*.domain` (any subdomain), `[v6addr]:port`, or `*` (any host: opt in on purpose).
    allowed_hosts: list[str]
    # The longest a request may take (a task's request.timeout_s may ask for less).
    timeout_s: PositiveSeconds = 30.0
    connect_timeout_s: PositiveSeconds = 10.0
    # A body larger than this fails the task (not retryable) instead of filling the sidecar's memory.
    max_response_bytes: Annotated[int, Meta(ge=0)] = DEFAULT_MAX_RESPONSE_BYTES
    max_redirects: Annotated[int, Meta(ge=0, le=20)] = 5
    # Extra CA certificates (PEM) trusted for https, beside the system's (an internal CA).
    ca_file: str | None = None
    # Named secrets a task refers to by name (a workflow node's n8n credential); each adds `http.cred.<slug>`.
    credentials: dict[str, HttpCredential] = {}


class McpStdioServer(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, tag="stdio",
                     tag_field="transport"):
    """An MCP server the sidecar starts for each call and talks to on its stdin/stdout."""

    command: str
    args: list[str] = []
    # Added to a small safe environment (HOME, PATH, ...), not to the sidecar's whole environment.
    env: dict[str, str] = {}
    cwd: str | None = None
    timeout_s: PositiveSeconds = 300.0


class McpHttpServer(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, tag="http",
                    tag_field="transport"):
    """An MCP server reached over streamable HTTP."""

    url: Annotated[str, Meta(pattern=r"^https?://")]
    headers: dict[str, str] = {}
    timeout_s: PositiveSeconds = 300.0


McpServer = McpStdioServer | McpHttpServer


class McpConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """[mcp]: tasks with kind "mcp" call one tool on one of these named servers."""

    servers: dict[ServerName, McpServer]


def kind_capabilities(http: HttpConfig | None, mcp: McpConfig | None) -> dict[str, float]:
    """The capabilities the optional executors add to the agent's registration."""
    extra: dict[str, float] = {}
    if http is not None:
        extra["http"] = 1.0
        extra.update(credential_capabilities(http.credentials))
    if mcp is not None:
        extra["mcp"] = 1.0
    return extra


def check_mcp_servers(raw: object) -> None:
    """Validate each [mcp.servers.<name>] table on its own, so an error names the server (msgspec says `[...]`)."""
    servers = raw.get("servers") if isinstance(raw, dict) else None
    if not isinstance(servers, dict):
        return
    for name, table in servers.items():
        try:
            msgspec.convert(table, McpServer)
        except msgspec.ValidationError as err:
            raise ConfigError(f"invalid sidecar config: {located(str(err), f'$.mcp.servers.{name}')}") from err
