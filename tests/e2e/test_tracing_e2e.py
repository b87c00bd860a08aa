"""Tracing through the real entry points: with HIVE_OTEL_EXPORTER=console each service (a process of its own)
prints its spans, flushed when it stops, and one task's spans form one trace across the three of them."""

from __future__ import annotations

import json
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.settings import Settings
from core.tokens import issue_token
from tests.e2e.processes import ProcessStack, write_sidecar_config
from tests.helpers import wait_until

pytestmark = pytest.mark.e2e


def printed_spans(log: Path) -> list[dict[str, Any]]:
    """The console exporter's spans in a service's log: indented JSON objects from a '{' line to a '}' line."""
    spans, lines, inside = [], [], False
    for line in log.read_text(errors="replace").splitlines():
        if line == "{":
            inside, lines = True, []
        if inside:
            lines.append(line)
            if line == "}":
                inside = False
                spans.append(json.loads("\n".join(lines)))
    return spans


async def test_console_spans_of_one_task_form_one_trace(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HIVE_OTEL_EXPORTER", "console")
    home = Path(tempfile.mkdtemp(prefix="hive-e2e-trace-"))
    stack = ProcessStack(settings, home)
    try:
        for service in ("coordinator", "gateway"):
            stack.start(service)
        stack.start("sidecar-a", "--config", str(write_sidecar_config(home / "a.toml", "trace-a", ["cat"])))
        await wait_until(stack.ready, timeout=60, what="gateway /ready")
        token = issue_token(settings.jwt_secret, role="developer", subject="e2e", now=datetime.now(UTC),
                            ttl=timedelta(hours=1))
        async with httpx.AsyncClient(base_url=stack.gateway_url, headers={"Authorization": f"Bearer {token}"}) as client:
            created = await client.post("/api/tasks", json={"title": "traced", "prompt": "hi", "capabilities": ["echo"]})
            assert created.status_code == 201, created.text
            task_id = created.json()["id"]

            async def completed() -> bool:
                return (await client.get(f"/api/tasks/{task_id}")).json()["status"] == "completed"

            await wait_until(completed, timeout=60, what="the task completed")
        assert all(code == 0 for code in stack.stop_all().values())  # each flushes its spans as it stops
        spans = {name: printed_spans(home / "logs" / f"{name}.log") for name in ("gateway", "coordinator", "sidecar-a")}
    finally:
        stack.stop_all()
        shutil.rmtree(home, ignore_errors=True)

    def one(service: str, name: str) -> dict[str, Any]:
        found = [s for s in spans[service] if s["name"] == name
                 and s["attributes"].get("hive.task_id", task_id) == task_id]
        assert len(found) == 1, (service, name, [s["name"] for s in spans[service]])
        assert found[0]["resource"]["attributes"]["service.name"] == service.split("-")[0]
        return found[0]

    chain = [one("gateway", "POST /api/tasks"), one("coordinator", "placement"), one("sidecar-a", "execution"),
             one("coordinator", "completion")]
    assert len({s["context"]["trace_id"] for s in chain}) == 1
    assert chain[0]["parent_id"] is None
    assert [s["parent_id"] for s in chain[1:]] == [s["context"]["span_id"] for s in chain[:-1]]
