"""`hive dev` end to end: an echo task over HTTP, Ctrl-C, restart (and after a kill -9): the task is still there."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from core.dev.ports import free_port

pytestmark = pytest.mark.e2e

T = TypeVar("T")

SERVICE_MODULES = ("core.coordinator.service", "projections.service", "gateway.server", "agent_sidecar.service")


def _missing_services() -> list[str]:
    missing = []
    for name in SERVICE_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


def poll(condition: Callable[[], T | None], timeout: float, what: str, alive: Callable[[], bool] = lambda: True) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if not alive():
            raise AssertionError(f"hive dev exited while waiting for {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {value!r})")
        time.sleep(0.1)


class DevStack:
    """`hive dev --home HOME` as a subprocess, output in HOME/../hive-dev.out."""

    def __init__(self, home: Path, port: int) -> None:
        self.home, self.port = home, port
        self.out = home.parent / "hive-dev.out"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HIVE_")}
        env["HIVE_GATEWAY_PORT"] = str(self.port)
        return env

    def start(self) -> None:
        with open(self.out, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "core.cli", "dev", "--home", str(self.home)],
                env=self.env(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )
        self.starts += 1
        poll(self.ready, 180, "GET /ready = 200", alive=self.alive)
        # The banner follows endpoints.json: once it is printed, the stack says it is up.
        poll(lambda: self.out.read_text().count("Hive dev stack is up") == self.starts, 30, "the banner", self.alive)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def ready(self) -> bool:
        try:
            return httpx.get(self.url + "/ready", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def interrupt(self, timeout: float = 90) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        if self.alive():
            assert self.proc is not None
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def diagnostics(self) -> str:
        parts = [self.out.read_text(errors="replace") if self.out.exists() else ""]
        for log in sorted((self.home / "logs").glob("*.log")):
            parts.append(f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-30:]))
        return "\n".join(parts)

    def token(self) -> str:
        out = subprocess.run(
            [sys.executable, "-m", "core.cli", "token", "issue", "--role", "admin", "--home", str(self.home)],
            env=self.env(), check=True, capture_output=True, text=True, timeout=60,
        ).stdout
        return out.strip().splitlines()[-1]


@pytest.fixture
def stack() -> Iterator[DevStack]:
    missing = _missing_services()
    if missing:
        pytest.skip(f"hive dev needs services not built yet: {', '.join(missing)}")
    root = Path(tempfile.mkdtemp(prefix="hive-dev-e2e-"))
    root.chmod(0o755)  # as root, the embedded PostgreSQL runs as an unprivileged user who must reach its data
    dev = DevStack(root / ".hive", free_port())
    try:
        yield dev
    finally:
        dev.kill()
        shutil.rmtree(root, ignore_errors=True)


# A metric each service exports of its own (beyond the ones every process has).
OWN_METRIC = {
    "gateway": "hive_api_request_duration_seconds",
    "coordinator": "hive_active_agents",
    "projections": "hive_projection_lag_events",
    "sidecar": "hive_sidecar_execution_seconds",
}


def _families(url: str) -> dict[str, Any] | None:
    try:
        resp = httpx.get(url, timeout=5)
    except httpx.HTTPError:
        return None
    return {f.name: f for f in text_string_to_metric_families(resp.text)} if resp.status_code == 200 else None


def scrape_every_service(urls: dict[str, str]) -> None:
    """Each service's /metrics parses as Prometheus text and has its own metrics; the sidecar ran the echo task."""
    assert set(urls) == set(OWN_METRIC), urls
    for service, url in urls.items():
        families = poll(lambda: _families(url), 30, f"{service} metrics at {url}")
        assert OWN_METRIC[service] in families, (service, sorted(families))
        assert "hive_events_appended" in families, service
    sidecar = poll(lambda: _families(urls["sidecar"]), 30, "sidecar metrics")
    runs = [s.value for s in sidecar["hive_sidecar_execution_seconds"].samples
            if s.name.endswith("_count") and s.labels.get("outcome") == "completed"]
    assert runs and runs[0] >= 1


def completed_task(client: httpx.Client, url: str) -> dict[str, Any] | None:
    body: dict[str, Any] = client.get(url).json()
    return body if body.get("status") == "completed" else None


@pytest.mark.timeout(600)
def test_hive_dev_runs_an_echo_task_stops_cleanly_and_keeps_history(stack: DevStack) -> None:
    try:
        stack.start()
        endpoints = json.loads((stack.home / "endpoints.json").read_text())
        assert endpoints["ready"] is True and endpoints["gateway_url"] == stack.url
        assert endpoints["nats_url"].startswith("nats://") and endpoints["database_url"].startswith("postgresql://")

        headers = {"Authorization": f"Bearer {stack.token()}"}
        prompt = "hello from hive dev"
        with httpx.Client(headers=headers, timeout=10) as client:
            created = client.post(stack.url + "/api/tasks",
                                  json={"title": "echo", "capabilities": ["echo"], "prompt": prompt})
            assert created.status_code == 201, created.text
            task_url = f"{stack.url}/api/tasks/{created.json()['id']}"
            task = poll(lambda: completed_task(client, task_url), 120, "the echo task to complete", stack.alive)
        assert task["result"]["output"] == prompt
        scrape_every_service(endpoints["metrics"])

        assert stack.interrupt() == 0
        assert "hive dev: stopped" in stack.out.read_text()
        assert json.loads((stack.home / "endpoints.json").read_text())["ready"] is False

        stack.start()  # same home: same key, same NATS store, same database
        with httpx.Client(headers={"Authorization": f"Bearer {stack.token()}"}, timeout=10) as client:
            again = poll(lambda: completed_task(client, task_url), 60, "the task after a restart", stack.alive)
        assert again["result"]["output"] == prompt

        # kill -9 of `hive dev` alone orphans its children and servers; the next start stops them first.
        assert stack.proc is not None
        stack.proc.kill()
        stack.proc.wait(30)
        stack.start()
        with httpx.Client(headers={"Authorization": f"Bearer {stack.token()}"}, timeout=10) as client:
            poll(lambda: completed_task(client, task_url), 60, "the task after a kill -9", stack.alive)
        assert "left running by an earlier hive dev" in stack.out.read_text()
        assert stack.interrupt() == 0
    except BaseException:
        print(stack.diagnostics())
        raise
