"""`hive dev`: embedded NATS + PostgreSQL, then coordinator, projections, gateway and a local sidecar."""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgspec

from core.dev.embedded_nats import EmbeddedNats
from core.dev.embedded_postgres import EmbeddedPostgres
from core.dev.endpoints import endpoints_path, read_endpoints, write_endpoints
from core.dev.leftovers import stop_leftovers
from core.dev.ports import free_port
from core.dev.secret import ensure_secret, read_secret
from core.dev.sidecar_config import ensure_sidecar_config
from core.dev.supervisor import ServiceSpec, Supervisor, log_tail
from core.settings import Settings, load_settings

log = logging.getLogger("hive.dev")

# Start order; `Supervisor.stop_all` stops them in reverse (sidecar, gateway, projections, coordinator).
SERVICES = ("coordinator", "projections", "gateway", "sidecar")
READY_TIMEOUT_S = 120.0
POLL_INTERVAL_S = 0.2


def dev_secret(home: Path) -> str | None:
    """The JWT secret of the dev stack in `home`, or None when `hive dev` never ran there."""
    return read_secret(home)


class DevServers:
    """NATS and PostgreSQL for the stack: the embedded ones under `home`, unless URLs were given."""

    def __init__(self, home: Path, *, nats_url: str | None, database_url: str | None) -> None:
        self.nats = None if nats_url else EmbeddedNats(home / "nats")
        self.postgres = None if database_url else EmbeddedPostgres(
            home / "postgres", log_file=home / "logs" / "postgres.log")
        self.nats_url = nats_url or ""
        self.database_url = database_url or ""

    def start(self) -> None:
        if self.nats is not None:
            self.nats_url = self.nats.start()
            log.info("embedded nats-server at %s (store %s)", self.nats_url, self.nats.store_dir)
        if self.postgres is not None:
            self.database_url = self.postgres.start()
            log.info("embedded PostgreSQL at %s (data %s)", self.database_url, self.postgres.data_dir)

    def stop(self) -> None:
        if self.postgres is not None:
            self.postgres.stop()
        if self.nats is not None:
            self.nats.stop()

    def pids(self) -> dict[str, int]:
        found = {"nats_server": self.nats and self.nats.proc, "postgres": self.postgres and self.postgres.proc}
        return {name: proc.pid for name, proc in found.items() if proc}

    def describe(self, which: str) -> str:
        server = self.nats if which == "nats" else self.postgres
        if server is None:
            return "external"
        where = server.store_dir if isinstance(server, EmbeddedNats) else server.data_dir
        return f"embedded, data in {where}"


def child_env(settings: Settings, base_env: Mapping[str, str]) -> dict[str, str]:
    """The caller's environment plus the stack's HIVE_* values, so every service sees the same servers."""
    env = dict(base_env)
    env.update({
        "HIVE_NATS_URL": settings.nats_url,
        "HIVE_DATABASE_URL": settings.database_url,
        "HIVE_JWT_SECRET": settings.jwt_secret,
        "HIVE_PREFIX": settings.prefix,
        "HIVE_DB_SCHEMA": settings.db_schema,
        "HIVE_GATEWAY_HOST": settings.gateway_host,
        "HIVE_GATEWAY_PORT": str(settings.gateway_port),
        "HIVE_LOG_LEVEL": settings.log_level,
        "PYTHONUNBUFFERED": "1",
    })
    return env


def service_specs(settings: Settings, home: Path, sidecar_config: Path, base_env: Mapping[str, str],
                  metrics_ports: Mapping[str, int] | None = None) -> list[ServiceSpec]:
    env = child_env(settings, base_env)
    extra = {"sidecar": ["--config", str(sidecar_config)]}
    ports = metrics_ports or {}
    return [
        ServiceSpec(name, [sys.executable, "-m", "core.cli", name, *extra.get(name, [])],
                    env | ({"HIVE_METRICS_PORT": str(ports[name])} if name in ports else {}),
                    home / "logs" / f"{name}.log")
        for name in SERVICES
    ]


def metrics_urls(settings: Settings, metrics_ports: Mapping[str, int]) -> dict[str, str]:
    """Where each service serves Prometheus metrics: the gateway on its own port, the others on their own."""
    urls = {"gateway": gateway_url(settings) + "/metrics"}
    urls.update({name: f"http://127.0.0.1:{port}/metrics" for name, port in metrics_ports.items()})
    return urls


def gateway_url(settings: Settings) -> str:
    host = "127.0.0.1" if settings.gateway_host in ("0.0.0.0", "") else settings.gateway_host
    return f"http://{host}:{settings.gateway_port}"


def port_in_use(host: str, port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def http_ok(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def wait_ready(url: str, supervisor: Supervisor, stop: threading.Event, timeout: float = READY_TIMEOUT_S) -> bool:
    """Poll `url` until it answers 200. False (after printing why) on a child's death, the deadline, or a signal."""
    deadline = time.monotonic() + timeout
    while not stop.is_set():
        dead = supervisor.dead()
        if dead:
            for child in dead:
                code = child.proc.returncode if child.proc else None
                print(f"\n{child.spec.name} exited with code {code} during start-up; "
                      f"last lines of {child.spec.log_path}:\n{log_tail(child.spec.log_path)}", file=sys.stderr)
            return False
        if http_ok(url):
            return True
        if time.monotonic() > deadline:
            print(f"\n{url} did not answer 200 within {timeout:.0f}s; see the logs in "
                  f"{supervisor.children[0].spec.log_path.parent}", file=sys.stderr)
            return False
        stop.wait(POLL_INTERVAL_S)
    return False


def token_command(home: Path) -> str:
    cwd = Path.cwd()
    if home == (cwd / ".hive").resolve():
        launcher = "./hive" if (cwd / "hive").is_file() and os.access(cwd / "hive", os.X_OK) else "hive"
        return f"{launcher} token issue --role admin"
    return f"hive token issue --role admin --home {home}"


def banner(home: Path, settings: Settings, servers: DevServers) -> str:
    url = gateway_url(settings)
    body = '{"title": "hello", "capabilities": ["echo"], "prompt": "hello, hive"}'
    return f"""
Hive dev stack is up (home {home})
  gateway     {url}   (GET /health, /ready; /api/tasks, /api/agents)
  NATS        {settings.nats_url}   ({servers.describe("nats")})
  PostgreSQL  {settings.database_url}   ({servers.describe("postgres")})
  logs        {home / "logs"}/<service>.log
  endpoints   {endpoints_path(home)}   (every service's Prometheus /metrics URL under "metrics")

Get a token (its last line):
  TOKEN=$({token_command(home)} | tail -n 1)
Submit an echo task, then look at it (status completed, result output "hello, hive"):
  curl -s -X POST {url}/api/tasks -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{body}'
  curl -s {url}/api/tasks/<id> -H "Authorization: Bearer $TOKEN"

Ctrl-C stops everything.
""".rstrip("\n")


def endpoints(home: Path, settings: Settings, servers: DevServers, supervisor: Supervisor,
              *, ready: bool, metrics_ports: Mapping[str, int] | None = None) -> dict[str, Any]:
    return {
        "metrics": metrics_urls(settings, metrics_ports or {}),
        "ready": ready,
        "gateway_url": gateway_url(settings),
        "nats_url": settings.nats_url,
        "database_url": settings.database_url,
        "prefix": settings.prefix,
        "db_schema": settings.db_schema,
        "home": str(home),
        "logs": str(home / "logs"),
        "embedded": {"nats": servers.nats is not None, "postgres": servers.postgres is not None},
        "pids": {"hive_dev": os.getpid(), **servers.pids(), **supervisor.pids()},
    }


@contextmanager
def home_lock(home: Path) -> Iterator[bool]:
    """An exclusive lock on `home` for as long as this stack runs; yields False if another stack holds it."""
    with open(home / "dev.lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield True


@contextmanager
def stop_signals() -> Iterator[threading.Event]:
    """SIGINT and SIGTERM set the returned event instead of interrupting; previous handlers come back after."""
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def supervise(home: Path, settings: Settings, servers: DevServers, supervisor: Supervisor,
              stop: threading.Event, metrics_ports: Mapping[str, int] | None = None) -> None:
    """Until a signal: restart crashed children (with backoff) and keep endpoints.json's pids current."""
    while not stop.wait(POLL_INTERVAL_S):
        if supervisor.poll():
            write_endpoints(home, endpoints(home, settings, servers, supervisor, ready=True,
                                            metrics_ports=metrics_ports))


def run_stack(home: Path, settings: Settings, servers: DevServers, stop: threading.Event,
              base_env: Mapping[str, str]) -> int:
    servers.start()
    if stop.is_set():
        return 0
    settings = msgspec.structs.replace(settings, nats_url=servers.nats_url, database_url=servers.database_url)
    # Ports chosen once per run, so a restarted service serves its metrics where it did before.
    metrics_ports = {name: free_port() for name in SERVICES if name != "gateway"}
    supervisor = Supervisor(service_specs(settings, home, ensure_sidecar_config(home), base_env, metrics_ports))
    print(f"hive dev: starting {', '.join(SERVICES)}; logs in {home / 'logs'}/<service>.log", flush=True)
    supervisor.start_all()
    try:
        # Written before the wait too, so a stack killed while starting leaves its pids for the next one.
        write_endpoints(home, endpoints(home, settings, servers, supervisor, ready=False, metrics_ports=metrics_ports))
        if not wait_ready(gateway_url(settings) + "/ready", supervisor, stop):
            return 0 if stop.is_set() else 1
        write_endpoints(home, endpoints(home, settings, servers, supervisor, ready=True, metrics_ports=metrics_ports))
        print(banner(home, settings, servers), flush=True)
        supervise(home, settings, servers, supervisor, stop, metrics_ports)
        print("\nhive dev: stopping sidecar, gateway, projections, coordinator", flush=True)
        return 0
    finally:
        supervisor.stop_all()


def run_dev(home: Path, settings_overrides: dict[str, object]) -> int:
    """The `hive dev` entry point: runs until SIGINT/SIGTERM, then stops everything; 0 on a clean stop."""
    base_env = dict(os.environ)
    home = Path(home).resolve()
    (home / "logs").mkdir(parents=True, exist_ok=True)
    settings = load_settings(base_env, **{**settings_overrides, "jwt_secret": ensure_secret(home)})
    # Servers named in the environment (or by the caller) are used as they are; the others are embedded.
    given = {field for field, var in (("nats_url", "HIVE_NATS_URL"), ("database_url", "HIVE_DATABASE_URL"))
             if var in base_env or field in settings_overrides}
    servers = DevServers(home, nats_url=settings.nats_url if "nats_url" in given else None,
                         database_url=settings.database_url if "database_url" in given else None)
    with home_lock(home) as locked, stop_signals() as stop:
        if not locked:
            return fail(f"another `hive dev` is running on {home} (its pid is in {home / 'dev.lock'})")
        # We hold the lock, so no live stack owns what endpoints.json lists: anything still running was orphaned.
        stop_leftovers(home, (read_endpoints(home) or {}).get("pids", {}))
        if port_in_use(settings.gateway_host, settings.gateway_port):
            return fail(f"port {settings.gateway_port} on {settings.gateway_host} is in use; "
                        "set HIVE_GATEWAY_PORT to a free port")
        try:
            return run_stack(home, settings, servers, stop, base_env)
        except (RuntimeError, TimeoutError, OSError, subprocess.CalledProcessError) as err:
            return fail(f"could not start: {err} (the logs are in {home / 'logs'} and {home / 'nats'})")
        finally:
            servers.stop()
            mark_stopped(home)
            print("hive dev: stopped", flush=True)


def mark_stopped(home: Path) -> None:
    """endpoints.json stays for reference but says the stack is down (and lists no pids to clean up)."""
    previous = read_endpoints(home)
    if previous is not None:
        write_endpoints(home, {**previous, "ready": False, "pids": {}})


def fail(message: str) -> int:
    print(f"hive dev: {message}", file=sys.stderr)
    return 1
