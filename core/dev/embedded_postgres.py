"""Runs PostgreSQL from the binaries shipped in the pgserver wheel, on a free port, data in a folder."""

from __future__ import annotations

import importlib.util
import os
import pwd
import signal
import subprocess
from pathlib import Path

from core.dev.ports import free_port, wait_for_port

# PostgreSQL refuses to run as root; as root we run it as this unprivileged user.
UNPRIVILEGED_USER = "nobody"


def postgres_bin_dir() -> Path:
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("embedded PostgreSQL needs the pgserver wheel: pip install pgserver (or hive[dev])")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _run_as() -> str | None:
    return UNPRIVILEGED_USER if os.geteuid() == 0 else None


def _prepare_dir(path: Path, user: str | None) -> None:
    path.mkdir(parents=True, exist_ok=True)
    if user is None:
        return
    entry = pwd.getpwnam(user)
    os.chown(path, entry.pw_uid, entry.pw_gid)
    os.chmod(path, 0o700)
    # The unprivileged user must be able to walk down to the data folder.
    for parent in path.parents:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            os.chmod(parent, mode | 0o011)


class EmbeddedPostgres:
    def __init__(self, data_dir: Path, port: int | None = None, *, log_file: Path | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.log_file = log_file or self.data_dir.parent / f"{self.data_dir.name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self, timeout: float = 60.0) -> str:
        bin_dir, user = postgres_bin_dir(), _run_as()
        _prepare_dir(self.data_dir, user)
        if not (self.data_dir / "PG_VERSION").exists():
            subprocess.run(
                [str(bin_dir / "initdb"), "-D", str(self.data_dir), "-U", "postgres", "--auth=trust",
                 "--encoding=UTF8", "--no-instructions"],
                check=True, user=user, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            )
        log = open(self.log_file, "ab")
        self.proc = subprocess.Popen(
            [str(bin_dir / "postgres"), "-D", str(self.data_dir), "-p", str(self.port), "-h", "127.0.0.1",
             "-c", "unix_socket_directories=", "-c", "max_connections=200"],
            user=user, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        wait_for_port("127.0.0.1", self.port, timeout, alive=lambda: self.proc is not None and self.proc.poll() is None)
        self._wait_ready(bin_dir, timeout)
        return self.url

    def _wait_ready(self, bin_dir: Path, timeout: float) -> None:
        # The port opens before recovery ends; pg_isready says when connections are accepted.
        import time

        deadline = time.monotonic() + timeout
        while subprocess.run(
            [str(bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ).returncode != 0:
            if time.monotonic() > deadline:
                raise TimeoutError(f"PostgreSQL on port {self.port} not ready after {timeout}s")
            time.sleep(0.05)

    def stop(self, timeout: float = 30.0) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # "fast" shutdown
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
