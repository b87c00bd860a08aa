"""The sidecar runs on a GPU host without the server dependencies (litestar, asyncpg)."""

from __future__ import annotations

import subprocess
import sys

# Blocks the server packages in a fresh interpreter, then imports everything the sidecar needs.
PROBE = """
import sys
for name in ("litestar", "asyncpg", "uvicorn"):
    sys.modules[name] = None  # any import of it now raises ImportError
import agent_sidecar.service, agent_sidecar.executors, core.cli
core.cli.build_parser().parse_args(["sidecar", "--config", "x.toml"])
print("ok")
"""


def test_sidecar_imports_without_server_dependencies() -> None:
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_base_dependencies_exclude_server_packages() -> None:
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())["project"]
    base = " ".join(project["dependencies"]).lower()
    assert "litestar" not in base and "asyncpg" not in base
    assert any(d.startswith("litestar") for d in project["optional-dependencies"]["server"])
