"""The sidecar's TOML config, parsed into frozen values; every validation error names its field path."""

from __future__ import annotations

import os
import re
import socket
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from agent_sidecar.errors import ConfigError
from agent_sidecar.allowlist import PatternError, parse_pattern
from agent_sidecar.http_credentials import check_credential_tables, resolve_credentials
from agent_sidecar.kind_config import HttpConfig, McpConfig, check_mcp_servers

# An agent id is one NATS subject token (it is part of hive.dispatch.<agent_id>).
AGENT_ID_PATTERN = r"^[A-Za-z0-9_-]+$"
AgentId = Annotated[str, Meta(pattern=AGENT_ID_PATTERN, max_length=128)]
Proficiency = Annotated[float, Meta(ge=0.0, le=1.0)]
PositiveSeconds = Annotated[float, Meta(gt=0.0)]

# Placeholders an argv template may use; all come from the task's data, never from its sender's choice of program.
PLACEHOLDERS = ("prompt", "model", "task_id", "title")
_TEMPLATE_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")

DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024


class CommandExecutorConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, tag="command"):
    """Runs a fixed program per task; argv items may contain {prompt}, {model}, {task_id}, {title}."""

    argv: Annotated[list[str], Meta(min_length=1)]
    # "prompt": the prompt is written to stdin; "none": stdin is /dev/null.
    stdin: Literal["prompt", "none"] = "prompt"
    # Non-zero exit codes that mean "try again elsewhere" (e.g. 75 = EX_TEMPFAIL); others fail for good.
    retry_on_exit_codes: list[int] = []
    # stdout beyond this many bytes is read and discarded (metrics.output_truncated = 1).
    max_output_bytes: Annotated[int, Meta(ge=0)] = DEFAULT_MAX_OUTPUT_BYTES
    # After SIGTERM to the process group on timeout/cancel, wait this long before SIGKILL.
    kill_grace_s: Annotated[float, Meta(ge=0.0)] = 5.0
    env: dict[str, str] = {}
    cwd: str | None = None


class OllamaExecutorConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, tag="ollama"):
    """Streams completions from an Ollama server's /api/generate."""

    url: str = "http://127.0.0.1:11434"
    # Used when the task names no model.
    default_model: str | None = None
    # Ollama generation options (temperature, num_ctx, ...); a task's payload["options"] overrides keys.
    options: dict[str, Any] = {}
    connect_timeout_s: PositiveSeconds = 10.0


class NoopExecutorConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, tag="noop"):
    """Completes every task at once with its prompt as output: for benchmarks and smoke checks."""


ExecutorConfig = CommandExecutorConfig | OllamaExecutorConfig | NoopExecutorConfig


class SidecarConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    agent_id: AgentId
    name: str
    # The main executor, for tasks whose payload names no `kind`; may be left out when [http] or [mcp] is given.
    executor: ExecutorConfig | None = None
    max_concurrency: Annotated[int, Meta(ge=1, le=1024)] = 1
    models: list[str] = []
    capabilities: dict[str, Proficiency] = {}
    # On SIGTERM: how long in-flight tasks may run on before they are cancelled and reported failed (retryable).
    grace_period_s: Annotated[float, Meta(ge=0.0)] = 30.0
    # Optional executors chosen by a task's payload `kind`; each adds its capability (`http`, `mcp`).
    http: HttpConfig | None = None
    mcp: McpConfig | None = None


def default_agent_id(hostname: str | None = None) -> str:
    """The host name made into one valid subject token (dots and other characters become '-')."""
    raw = hostname if hostname is not None else socket.gethostname()
    token = re.sub(r"[^A-Za-z0-9_-]+", "-", raw).strip("-")[:128]
    return token or "agent"


def parse_config(raw: dict[str, Any], *, hostname: str | None = None,
                 environ: Mapping[str, str] | None = None) -> SidecarConfig:
    """Validate a parsed TOML document; raises ConfigError naming the field (e.g. `$.executor.argv`). Credentials'
    `*_env` secrets are read from `environ` (default: the process environment), once, here."""
    data = dict(raw)
    data.setdefault("agent_id", default_agent_id(hostname))
    if isinstance(data["agent_id"], str):
        data.setdefault("name", data["agent_id"])
    if "executor" not in data and "http" not in data and "mcp" not in data:
        raise ConfigError("missing required field `executor` - at `$` (add an [executor] table with a `type`)")
    _check_proficiencies(data.get("capabilities"))
    check_mcp_servers(data.get("mcp"))
    check_credential_tables(data.get("http"))
    try:
        config = msgspec.convert(data, SidecarConfig)
    except msgspec.ValidationError as err:
        raise ConfigError(f"invalid sidecar config: {err}") from err
    if isinstance(config.executor, CommandExecutorConfig):
        for index, item in enumerate(config.executor.argv):
            check_template(item, f"$.executor.argv[{index}]")
    if config.http is not None:
        for index, pattern in enumerate(config.http.allowed_hosts):
            try:
                parse_pattern(pattern)
            except PatternError as err:
                raise ConfigError(f"invalid sidecar config: {err} - at `$.http.allowed_hosts[{index}]`") from err
        credentials = resolve_credentials(config.http.credentials, os.environ if environ is None else environ)
        config = msgspec.structs.replace(config, http=msgspec.structs.replace(config.http, credentials=credentials))
    return config


def _check_proficiencies(capabilities: object) -> None:
    # msgspec reports a bad dict value at `$.capabilities[...]`; name the capability instead.
    if not isinstance(capabilities, dict):
        return
    for name, value in capabilities.items():
        if isinstance(value, int | float) and not isinstance(value, bool) and not 0.0 <= value <= 1.0:
            raise ConfigError(
                f"invalid sidecar config: proficiency must be within [0, 1], got {value} - at `$.capabilities.{name}`"
            )


def load_config(path: Path, *, hostname: str | None = None,
                environ: Mapping[str, str] | None = None) -> SidecarConfig:
    """Read and validate a sidecar TOML file."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigError(f"cannot read sidecar config {path}: {err}") from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"sidecar config {path} is not valid TOML: {err}") from err
    try:
        return parse_config(raw, hostname=hostname, environ=environ)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from err


def check_template(template: str, where: str) -> None:
    for match in _TEMPLATE_TOKEN.finditer(template):
        name = match.group(1)
        if name is not None and name not in PLACEHOLDERS:
            known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
            raise ConfigError(
                f"invalid sidecar config: unknown placeholder {{{name}}} - at `{where}` "
                f"(use one of {known}; write {{{{ and }}}} for literal braces)"
            )


def render_template(template: str, values: dict[str, str]) -> str:
    """Substitute placeholders in one argv item in a single pass: substituted text is never re-expanded."""

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        return values[match.group(1)]

    return _TEMPLATE_TOKEN.sub(replace, template)


def default_dev_config(agent_id: str | None = None) -> SidecarConfig:
    """The dev stack's local sidecar (capability `echo`, `cat` with the prompt on stdin, 4 slots)."""
    # One definition, shared with `hive dev`, which writes the same text to .hive/sidecar.toml.
    from core.dev.sidecar_config import DEV_SIDECAR_TOML

    raw = tomllib.loads(DEV_SIDECAR_TOML)
    if agent_id is not None:
        raw["agent_id"] = agent_id
    return parse_config(raw)
