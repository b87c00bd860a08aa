"""Worker processes for the peer benchmarks: each in its own process group, logs in a file, all stopped after."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _stop(proc: subprocess.Popen[bytes], grace: float = 10) -> None:
    """Ask the leader to shut down cleanly, then kill whatever is left in its group (prefork children included)."""
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


@contextmanager
def workers(commands: list[list[str]]) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Start `python <args>` for each command; stop every process group on exit (a failure shows the logs)."""
    with tempfile.TemporaryDirectory(prefix="hive-bench-peer-") as home:
        procs: list[subprocess.Popen[bytes]] = []
        logs = [Path(home) / f"worker-{i}.log" for i in range(len(commands))]
        try:
            for args, log in zip(commands, logs):
                with log.open("wb") as out:
                    procs.append(subprocess.Popen([sys.executable, *args], stdout=out, stderr=subprocess.STDOUT,
                                                  start_new_session=True))
            yield procs
        except BaseException:
            for log in logs:
                if log.exists():
                    sys.stderr.write(f"--- {log.name}\n{log.read_text()[-3000:]}\n")
            raise
        finally:
            for proc in procs:
                _stop(proc)
