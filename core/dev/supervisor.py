"""Runs the dev stack's services as child processes: start, watch, restart with backoff, stop in order."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger("hive.dev")

# A child that ran this long before dying counts as healthy: its next restart starts from the short delay.
HEALTHY_RUN_S = 30.0


def restart_delay(failures: int, *, base: float = 0.5, cap: float = 30.0) -> float:
    """Exponential backoff: 0.5 s, 1 s, 2 s, ... capped, for the n-th consecutive failure (n >= 1)."""
    return min(cap, base * 2 ** max(0, failures - 1))


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    argv: Sequence[str]
    env: Mapping[str, str]
    log_path: Path


@dataclass
class Child:
    spec: ServiceSpec
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    failures: int = 0
    restart_at: float | None = None
    restarts: int = 0
    exit_codes: list[int] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class Supervisor:
    """Keeps a fixed list of services running; `stop_all` ends them in reverse start order."""

    def __init__(self, specs: Sequence[ServiceSpec], *, clock: Callable[[], float] = time.monotonic,
                 stop_timeout_s: float = 15.0) -> None:
        self.children = [Child(spec) for spec in specs]
        self.clock = clock
        self.stop_timeout_s = stop_timeout_s

    def start_all(self) -> None:
        for child in self.children:
            self._launch(child)

    def pids(self) -> dict[str, int]:
        return {c.spec.name: c.proc.pid for c in self.children if c.proc is not None and c.running}

    def dead(self) -> list[Child]:
        """Children that exited (and are not yet restarted)."""
        return [c for c in self.children if c.proc is not None and c.proc.poll() is not None]

    def poll(self) -> list[str]:
        """Notice exits and schedule restarts with backoff; launch those due. Returns the names restarted now."""
        now, restarted = self.clock(), []
        for child in self.children:
            if child.proc is None or child.running:
                continue
            if child.restart_at is None:
                self._schedule_restart(child, now)
            elif now >= child.restart_at:
                self._launch(child)
                child.restarts += 1
                restarted.append(child.spec.name)
        return restarted

    def stop_all(self) -> None:
        """SIGTERM each child, last started first, and wait for it (SIGKILL after the deadline)."""
        for child in reversed(self.children):
            self._stop(child)

    def _launch(self, child: Child) -> None:
        spec = child.spec
        spec.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(spec.log_path, "ab") as out:
            stamp = datetime.now(UTC).isoformat(timespec="seconds")
            out.write(f"\n=== {stamp} hive dev starts {spec.name}: {' '.join(spec.argv)}\n".encode())
            out.flush()
            # Own session: the terminal's Ctrl-C reaches only `hive dev`, which then stops children in order.
            child.proc = subprocess.Popen(
                list(spec.argv), env=dict(spec.env), stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
            )
        child.started_at, child.restart_at = self.clock(), None
        log.info("started %s (pid %d), log %s", spec.name, child.proc.pid, spec.log_path)

    def _schedule_restart(self, child: Child, now: float) -> None:
        assert child.proc is not None
        code = child.proc.returncode
        child.exit_codes.append(code)
        child.failures = 1 if now - child.started_at >= HEALTHY_RUN_S else child.failures + 1
        delay = restart_delay(child.failures)
        child.restart_at = now + delay
        log.warning("%s exited with code %s; restarting in %.1fs (log: %s)",
                    child.spec.name, code, delay, child.spec.log_path)

    def _stop(self, child: Child) -> None:
        proc = child.proc
        if proc is None or proc.poll() is not None:
            return
        log.info("stopping %s (pid %d)", child.spec.name, proc.pid)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(self.stop_timeout_s)
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop within %.0fs; killing it", child.spec.name, self.stop_timeout_s)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
