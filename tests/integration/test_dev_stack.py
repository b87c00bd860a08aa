"""`hive dev` pieces that need no Hive service: secret, endpoints, sidecar config, embedded servers that persist."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import nats
import pytest

from core.dev.endpoints import read_endpoints, write_endpoints
from core.dev.leftovers import stop_leftovers
from core.dev.secret import ensure_secret
from core.dev.sidecar_config import ensure_sidecar_config
from core.dev.stack import DevServers, child_env, dev_secret, home_lock, run_dev, service_specs
from core.settings import load_settings
from core.tokens import verify_token


@pytest.fixture
def home() -> Iterator[Path]:
    # Not under pytest's 0700 tmp root: as root, the embedded PostgreSQL runs as an unprivileged user.
    path = Path(tempfile.mkdtemp(prefix="hive-devhome-"))
    path.chmod(0o755)
    yield path / ".hive"
    shutil.rmtree(path, ignore_errors=True)


def test_secret_is_created_once_owner_only_and_reused(home: Path) -> None:
    assert dev_secret(home) is None
    first = ensure_secret(home)
    assert len(first) >= 32
    assert stat.S_IMODE((home / "jwt_secret").stat().st_mode) == 0o600
    assert ensure_secret(home) == first
    assert dev_secret(home) == first


def test_token_issue_signs_with_the_dev_stack_key(home: Path) -> None:
    secret = ensure_secret(home)
    env = {k: v for k, v in os.environ.items() if k != "HIVE_JWT_SECRET"}
    out = subprocess.run(
        [sys.executable, "-m", "core.cli", "token", "issue", "--role", "admin", "--home", str(home)],
        check=True, capture_output=True, text=True, env=env, timeout=60,
    ).stdout
    claims = verify_token(out.strip().splitlines()[-1], secret)
    assert claims["roles"] == ["admin"]


def test_endpoints_file_round_trips(home: Path) -> None:
    home.mkdir(parents=True)
    assert read_endpoints(home) is None
    data = {"nats_url": "nats://127.0.0.1:1", "database_url": "postgresql://x", "gateway_url": "http://127.0.0.1:2"}
    write_endpoints(home, data)
    assert read_endpoints(home) == data
    assert not list(home.glob("*.tmp"))


def test_default_sidecar_config_offers_echo_via_cat_and_keeps_edits(home: Path) -> None:
    home.mkdir(parents=True)
    path = ensure_sidecar_config(home)
    config = tomllib.loads(path.read_text())
    assert config["capabilities"] == {"echo": 1.0}
    assert config["executor"] == {"type": "command", "argv": ["cat"], "stdin": "prompt"}
    path.write_text(path.read_text() + "\n# mine\n")
    ensure_sidecar_config(home)
    assert path.read_text().endswith("# mine\n")


def test_default_sidecar_config_is_valid_for_the_sidecar(home: Path) -> None:
    sidecar_config = pytest.importorskip("agent_sidecar.config", reason="agent_sidecar.config not built yet")
    home.mkdir(parents=True)
    config = sidecar_config.load_config(ensure_sidecar_config(home))
    assert config.agent_id == "dev-sidecar" and config.capabilities == {"echo": 1.0}
    assert config.executor.argv == ["cat"] and config.executor.stdin == "prompt"


def test_services_get_the_stack_settings_and_their_own_log(home: Path) -> None:
    settings = load_settings({}, nats_url="nats://127.0.0.1:1", database_url="postgresql://db", jwt_secret="s",
                             gateway_port=9999)
    specs = service_specs(settings, home, home / "sidecar.toml", {"PATH": "/bin"})
    assert [s.name for s in specs] == ["coordinator", "projections", "gateway", "sidecar"]
    assert specs[-1].argv[1:] == ["-m", "core.cli", "sidecar", "--config", str(home / "sidecar.toml")]
    assert specs[0].log_path == home / "logs" / "coordinator.log"
    env = child_env(settings, {"PATH": "/bin"})
    assert env["PATH"] == "/bin"
    assert (env["HIVE_NATS_URL"], env["HIVE_DATABASE_URL"], env["HIVE_JWT_SECRET"]) == (
        "nats://127.0.0.1:1", "postgresql://db", "s")
    assert (env["HIVE_PREFIX"], env["HIVE_DB_SCHEMA"], env["HIVE_GATEWAY_PORT"]) == ("hive", "hive", "9999")


def test_a_second_stack_on_the_same_home_is_refused(home: Path) -> None:
    home.mkdir(parents=True)
    with home_lock(home) as first:
        assert first
        assert run_dev(home, {}) == 1
    with home_lock(home) as again:
        assert again


def test_a_busy_gateway_port_is_reported_before_anything_starts(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert run_dev(home, {"gateway_port": port}) == 1
    assert "HIVE_GATEWAY_PORT" in capsys.readouterr().err
    assert not (home / "postgres").exists() and not (home / "nats").exists()


async def write_history(nats_url: str, database_url: str) -> None:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await js.add_stream(name="DEVTEST", subjects=["devtest.>"])
    await js.publish("devtest.a", b"kept")
    await nc.close()
    conn = await asyncpg.connect(database_url)
    await conn.execute("CREATE TABLE devtest (v text); INSERT INTO devtest VALUES ('kept')")
    await conn.close()


async def read_history(nats_url: str, database_url: str) -> tuple[bytes, str]:
    nc = await nats.connect(nats_url)
    msg = await nc.jetstream().get_msg("DEVTEST", 1)
    await nc.close()
    conn = await asyncpg.connect(database_url)
    value = await conn.fetchval("SELECT v FROM devtest")
    await conn.close()
    return msg.data or b"", value


def test_embedded_servers_use_free_ports_and_a_restart_keeps_their_data(home: Path) -> None:
    (home / "logs").mkdir(parents=True)
    servers = DevServers(home, nats_url=None, database_url=None)
    servers.start()
    try:
        assert servers.nats_url.startswith("nats://127.0.0.1:")
        assert servers.database_url.startswith("postgresql://postgres@127.0.0.1:")
        asyncio.run(write_history(servers.nats_url, servers.database_url))
    finally:
        servers.stop()
    assert (home / "nats" / "jetstream").is_dir() and (home / "postgres" / "PG_VERSION").exists()

    again = DevServers(home, nats_url=None, database_url=None)
    again.start()
    try:
        assert asyncio.run(read_history(again.nats_url, again.database_url)) == (b"kept", "kept")
    finally:
        again.stop()


def test_servers_given_by_url_are_not_started(home: Path) -> None:
    servers = DevServers(home, nats_url="nats://elsewhere:4222", database_url="postgresql://elsewhere/db")
    servers.start()
    servers.stop()
    assert (servers.nats_url, servers.database_url) == ("nats://elsewhere:4222", "postgresql://elsewhere/db")
    assert servers.describe("nats") == "external" and not (home / "nats").exists()


def test_processes_left_by_a_killed_stack_are_stopped_and_strangers_are_not(home: Path) -> None:
    home.mkdir(parents=True)
    loop = "import sys, time\nwhile True: time.sleep(1)"
    orphan = subprocess.Popen([sys.executable, "-c", loop, str(home)])  # names the home, as the stack's do
    stranger = subprocess.Popen([sys.executable, "-c", loop, "unrelated"])
    try:
        stopped = stop_leftovers(home, {"hive_dev": 1, "gateway": orphan.pid, "postgres": stranger.pid}, timeout=10)
        assert stopped == ["gateway"]
        assert orphan.wait(10) == -15
        assert stranger.poll() is None
    finally:
        for proc in (orphan, stranger):
            proc.kill()
            proc.wait()
