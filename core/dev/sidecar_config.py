"""The local sidecar's default config for `hive dev`: capability `echo`, a `command` executor running `cat`."""

from __future__ import annotations

from pathlib import Path

SIDECAR_CONFIG_FILE = "sidecar.toml"
DEV_AGENT_ID = "dev-sidecar"

DEV_SIDECAR_TOML = f"""\
# Written by `hive dev` for its local sidecar (format: agent_sidecar/example.toml). Edit it freely;
# delete it to get this default back. `echo` runs `cat` with the task's prompt on stdin: the output is the prompt.
agent_id = "{DEV_AGENT_ID}"
name = "dev sidecar (echo)"
max_concurrency = 4
grace_period_s = 5.0

[capabilities]
echo = 1.0

[executor]
type = "command"
argv = ["cat"]
stdin = "prompt"
"""


def ensure_sidecar_config(home: Path) -> Path:
    """Write the default config into `home` unless one is there already (a user's edits are kept)."""
    path = Path(home) / SIDECAR_CONFIG_FILE
    if not path.exists():
        path.write_text(DEV_SIDECAR_TOML, encoding="utf-8")
    return path
