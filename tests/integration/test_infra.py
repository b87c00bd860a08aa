"""The shipped deployment files are valid for the real programs that read them."""

from __future__ import annotations

import subprocess
from pathlib import Path

from core.dev.embedded_nats import nats_server_binary

INFRA = Path(__file__).resolve().parents[2] / "infra"


def test_nats_server_config_is_valid() -> None:
    result = subprocess.run([nats_server_binary(), "-c", str(INFRA / "nats-server.conf"), "-t"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is valid" in result.stdout + result.stderr
