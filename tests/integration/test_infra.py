"""The shipped deployment files are valid for the real programs that read them."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from core.dev.embedded_nats import nats_server_binary

INFRA = Path(__file__).resolve().parents[2] / "infra"


@pytest.mark.parametrize("config", ["nats-server.conf", "nats-cluster/node-1.conf", "nats-cluster/node-2.conf",
                                    "nats-cluster/node-3.conf"])
def test_nats_server_config_is_valid(config: str) -> None:
    # The passwords nats-auth.conf reads from nats-server's environment (it refuses to start without them).
    names = set(re.findall(r"\$(HIVE_NATS_\w+_PASSWORD)\b", (INFRA / "nats-auth.conf").read_text()))
    env = {**os.environ, **{name: "test-password" for name in names}}
    result = subprocess.run([nats_server_binary(), "-c", str(INFRA / config), "-t"],
                            capture_output=True, text=True, timeout=30, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is valid" in result.stdout + result.stderr


def test_nats_server_refuses_to_start_without_the_passwords() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HIVE_NATS_")}
    result = subprocess.run([nats_server_binary(), "-c", str(INFRA / "nats-server.conf"), "-t"],
                            capture_output=True, text=True, timeout=30, env=env)
    assert result.returncode != 0
    assert "HIVE_NATS_" in result.stdout + result.stderr
