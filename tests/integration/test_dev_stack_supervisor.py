"""The dev stack's supervisor with stand-in child processes: restart with backoff, stop in order, readiness."""

from __future__ import annotations

import http.server
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.dev.stack import wait_ready
from core.dev.supervisor import ServiceSpec, Supervisor, restart_delay


def wait_for(condition, timeout: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def spec(tmp_path: Path, name: str, code: str) -> ServiceSpec:
    return ServiceSpec(name, [sys.executable, "-c", textwrap.dedent(code)], {}, tmp_path / "logs" / f"{name}.log")


# Writes "<name> ready" once its SIGTERM handler is in place, and "<name> stopped" to `trail` on SIGTERM.
POLITE = """
import signal, sys, time
name, trail = sys.argv[1], sys.argv[2]
def bye(*_):
    open(trail, "a").write(name + " stopped\\n")
    sys.exit(0)
signal.signal(signal.SIGTERM, bye)
open(trail, "a").write(name + " ready\\n")
while True:
    time.sleep(1)
"""


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(("failures", "delay"), [(1, 0.5), (2, 1.0), (3, 2.0), (6, 16.0), (7, 30.0), (50, 30.0)])
def test_restart_delay_doubles_up_to_a_cap(failures: int, delay: float) -> None:
    assert restart_delay(failures) == delay


def test_a_crashed_child_is_restarted_after_a_growing_backoff(tmp_path: Path) -> None:
    clock = FakeClock()
    sup = Supervisor([spec(tmp_path, "crashy", "import sys; print('boom'); sys.exit(3)")], clock=clock)
    sup.start_all()
    child = sup.children[0]
    assert child.proc is not None
    child.proc.wait(10)

    assert sup.poll() == []  # noticed: restart scheduled, not yet due
    assert child.exit_codes == [3] and child.restart_at == clock.now + 0.5
    clock.now += 0.5
    assert sup.poll() == ["crashy"]
    child.proc.wait(10)
    sup.poll()
    assert child.restart_at == clock.now + 1.0  # second quick failure: longer wait
    assert child.restarts == 1
    lines = (tmp_path / "logs" / "crashy.log").read_text().splitlines()
    assert lines.count("boom") == 2 and sum(line.startswith("=== ") for line in lines) == 2


def test_a_child_that_ran_long_restarts_from_the_short_delay(tmp_path: Path) -> None:
    clock = FakeClock()
    sup = Supervisor([spec(tmp_path, "flaky", "import sys; sys.exit(1)")], clock=clock)
    sup.start_all()
    child = sup.children[0]
    child.failures = 5
    assert child.proc is not None
    child.proc.wait(10)
    clock.now += 3600
    sup.poll()
    assert child.restart_at == clock.now + 0.5


def test_stop_all_terminates_in_reverse_start_order(tmp_path: Path) -> None:
    trail = tmp_path / "trail"
    names = ["coordinator", "projections", "gateway", "sidecar"]
    specs = [ServiceSpec(n, [sys.executable, "-c", POLITE, n, str(trail)], {}, tmp_path / f"{n}.log") for n in names]
    sup = Supervisor(specs)
    sup.start_all()
    wait_for(lambda: trail.exists() and trail.read_text().count("ready") == 4, what="children ready")
    assert set(sup.pids()) == set(names)

    sup.stop_all()

    stopped = [line.split()[0] for line in trail.read_text().splitlines() if line.endswith("stopped")]
    assert stopped == ["sidecar", "gateway", "projections", "coordinator"]
    assert all(c.proc is not None and c.proc.returncode == 0 for c in sup.children)


def test_a_child_ignoring_sigterm_is_killed_at_the_deadline(tmp_path: Path) -> None:
    trail = tmp_path / "trail"
    stubborn = ("import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                "open(sys.argv[1], 'w').write('ready');\nwhile True: time.sleep(1)")
    sup = Supervisor([ServiceSpec("stubborn", [sys.executable, "-c", stubborn, str(trail)], {}, tmp_path / "s.log")],
                     stop_timeout_s=0.5)
    sup.start_all()
    wait_for(trail.exists, what="child ready")
    started = time.monotonic()
    sup.stop_all()
    assert time.monotonic() - started < 10
    proc = sup.children[0].proc
    assert proc is not None and proc.returncode == -9


@pytest.fixture
def ready_server() -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/ready" else 404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_wait_ready_is_true_once_ready_answers_200(tmp_path: Path, ready_server: str) -> None:
    sup = Supervisor([spec(tmp_path, "idle", "import time\nwhile True: time.sleep(1)")])
    sup.start_all()
    try:
        assert wait_ready(ready_server + "/ready", sup, threading.Event(), timeout=10)
    finally:
        sup.stop_all()


def test_wait_ready_fails_with_the_log_tail_when_a_child_dies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sup = Supervisor([spec(tmp_path, "broken", "import sys; print('missing module xyz'); sys.exit(2)")])
    sup.start_all()
    # Nothing listens on this URL: only the child's death can end the wait early.
    assert not wait_ready("http://127.0.0.1:9/ready", sup, threading.Event(), timeout=30)
    err = capsys.readouterr().err
    assert "broken exited with code 2" in err and "missing module xyz" in err


def test_wait_ready_gives_up_at_the_deadline_or_on_a_signal(tmp_path: Path) -> None:
    sup = Supervisor([spec(tmp_path, "idle", "import time\nwhile True: time.sleep(1)")])
    sup.start_all()
    try:
        assert not wait_ready("http://127.0.0.1:9/ready", sup, threading.Event(), timeout=0.3)
        stop = threading.Event()
        stop.set()
        assert not wait_ready("http://127.0.0.1:9/ready", sup, stop, timeout=30)
    finally:
        sup.stop_all()
