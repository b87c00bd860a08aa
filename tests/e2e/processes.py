"""Runs Hive's services as real OS processes for end-to-end tests, so they can be killed with -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from core.dev.ports import free_port
from core.settings import Settings


class ProcessStack:
    """coordinator / projections / gateway / sidecar(s) as `python -m core.cli ...` children."""

    def __init__(self, settings: Settings, home: Path) -> None:
        self.settings = settings
        self.home = home
        self.gateway_port = free_port()
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.args: dict[str, list[str]] = {}
        (home / "logs").mkdir(parents=True, exist_ok=True)

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    def env(self) -> dict[str, str]:
        s = self.settings
        env = dict(os.environ)
        env.update({
            "HIVE_NATS_URL": s.nats_url, "HIVE_DATABASE_URL": s.database_url, "HIVE_PREFIX": s.prefix,
            "HIVE_DB_SCHEMA": s.db_schema, "HIVE_JWT_SECRET": s.jwt_secret, "HIVE_AUDIT_KEY": s.audit_key,
            "HIVE_GATEWAY_PORT": str(self.gateway_port), "HIVE_HEARTBEAT_INTERVAL_S": str(s.heartbeat_interval_s),
            "HIVE_AGENT_LOST_AFTER_S": str(s.agent_lost_after_s), "HIVE_LEADER_TTL_S": str(s.leader_ttl_s),
            "HIVE_LOG_LEVEL": "INFO",
        })
        return env

    def start(self, name: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Start service `name` (a key like 'sidecar-a'); its command is the part before any '-'. `env` overrides
        variables of the stack's environment for this process (a second gateway's port)."""
        command = name.split("-", 1)[0]
        self.args[name] = list(args)
        log = open(self.home / "logs" / f"{name}.log", "ab")
        proc = subprocess.Popen([sys.executable, "-m", "core.cli", command, *args], env=self.env() | (env or {}),
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs[name] = proc
        return proc

    def kill9(self, name: str) -> None:
        proc = self.procs[name]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()

    def stop(self, name: str, timeout: float = 15.0) -> int:
        """SIGTERM one service and wait for it to exit (blocking); its exit status. It is no longer tracked."""
        proc = self.procs.pop(name)
        proc.send_signal(signal.SIGTERM)
        return proc.wait(timeout)

    def restart(self, name: str) -> subprocess.Popen[bytes]:
        return self.start(name, *self.args[name])

    def alive(self, name: str) -> bool:
        return self.procs[name].poll() is None

    def log_tail(self, name: str, lines: int = 40) -> str:
        text = (self.home / "logs" / f"{name}.log").read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop_all(self, timeout: float = 15.0) -> dict[str, int | None]:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        codes: dict[str, int | None] = {}
        for name, proc in self.procs.items():
            try:
                codes[name] = proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                codes[name] = proc.wait()
        return codes

    async def ready(self) -> bool:
        for name in self.procs:
            if not self.alive(name):
                raise AssertionError(f"{name} exited early:\n{self.log_tail(name)}")
        try:
            async with httpx.AsyncClient(timeout=2.0) as client:
                return (await client.get(f"{self.gateway_url}/ready")).status_code == 200
        except httpx.HTTPError:
            return False


def write_sidecar_config(path: Path, agent_id: str, argv: list[str], *, concurrency: int = 4,
                         capabilities: dict[str, float] | None = None) -> Path:
    caps = capabilities or {"echo": 1.0}
    lines = [f'agent_id = "{agent_id}"', f"max_concurrency = {concurrency}", "grace_period_s = 5.0",
             "[capabilities]", *(f"{k} = {v}" for k, v in caps.items()),
             "[executor]", 'type = "command"', "argv = [" + ", ".join(f'"{a}"' for a in argv) + "]"]
    path.write_text("\n".join(lines) + "\n")
    return path
