"""Processes a killed `hive dev` left behind (its children, its servers), found in endpoints.json and stopped."""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Mapping
from pathlib import Path

log = logging.getLogger("hive.dev")

# Stop order: services before the servers they use.
ORDER = ("sidecar", "gateway", "projections", "coordinator", "postgres", "nats_server")


def _cmdline(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None


def is_ours(pid: int, home: Path) -> bool:
    """True only for a live process that looks like the stack's: pids are reused, so a bare number is not enough."""
    cmd = _cmdline(pid)
    return cmd is not None and ("core.cli" in cmd or str(home) in cmd)


def stop_leftovers(home: Path, pids: Mapping[str, int], timeout: float = 15.0) -> list[str]:
    """SIGTERM the recorded processes still running (SIGKILL after `timeout`); returns the names stopped."""
    named = sorted(((n, p) for n, p in pids.items() if n != "hive_dev" and p != os.getpid()),
                   key=lambda item: ORDER.index(item[0]) if item[0] in ORDER else -1)
    stopped = []
    for name, pid in named:
        if not is_ours(pid, home):
            continue
        log.warning("stopping %s (pid %d) left running by an earlier hive dev", name, pid)
        _terminate(pid, timeout)
        stopped.append(name)
    return stopped


def _terminate(pid: int, timeout: float) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while _cmdline(pid) is not None and not _is_zombie(pid):
        if time.monotonic() > deadline:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            return
        time.sleep(0.05)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except (OSError, IndexError):
        return True
