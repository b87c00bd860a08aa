"""The whole system as separate processes: tasks submitted over HTTP end completed in the read model."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import httpx
import msgspec
import pytest

from core.dev.embedded_nats import EmbeddedNats
from core.settings import Settings
from core.store.connect import connect
from core.store.event_store import EventStore
from tests.e2e.flow import LIFECYCLE, all_done, completed_outputs, count_status, submit, token
from tests.e2e.processes import ProcessStack, write_sidecar_config
from tests.helpers import wait_until

pytestmark = pytest.mark.e2e



async def test_200_tasks_complete_with_results_and_ordered_history(settings: Settings, stack: ProcessStack) -> None:
    stack.start("sidecar-a", "--config", str(write_sidecar_config(stack.home / "a.toml", "e2e-a", ["cat"], concurrency=8)))
    headers = {"Authorization": f"Bearer {token(settings)}"}
    async with httpx.AsyncClient(base_url=stack.gateway_url, headers=headers, timeout=30) as client:
        prompts = await submit(client, 200, "hello")
        ids = list(prompts)
        await wait_until(lambda: all_done(settings, ids), timeout=120, interval=0.2, what="200 tasks completed")
        outputs = await completed_outputs(settings, ids)
        assert outputs == prompts
        sample = (await client.get(f"/api/tasks/{ids[0]}")).json()
        assert (sample["status"], sample["assigned_agent_id"], sample["attempt"]) == ("completed", "e2e-a", 1)
        assert sample["result"]["output"] == prompts[ids[0]] and sample["error"] is None
    nc, js = await connect(settings, "e2e-check")
    store = EventStore(nc, js, settings)
    try:
        for task_id in ids:
            assert [r.envelope.type for r in await store.load("task", task_id)] == LIFECYCLE
    finally:
        await nc.close()


async def through_a_crash(settings: Settings, stack: ProcessStack, agent_id: str, crash: Callable[[], None],
                          timeout: float = 180) -> dict[str, list[str]]:
    """24 tasks of 0.3 s on a 4-slot sidecar, `crash()` once several are running; every task must then
    complete with its output. Returns each task's event types, for the caller's checks."""
    config = write_sidecar_config(stack.home / "slow.toml", agent_id, ["sh", "-c", "sleep 0.3; cat"], concurrency=4)
    stack.start("sidecar-slow", "--config", str(config))
    headers = {"Authorization": f"Bearer {token(settings)}"}
    async with httpx.AsyncClient(base_url=stack.gateway_url, headers=headers, timeout=30) as client:
        prompts = await submit(client, 24, agent_id)
        ids = list(prompts)
        await wait_until(lambda: count_status(settings, "running", ids), timeout=60, what="tasks running")
        crash()
        await wait_until(lambda: all_done(settings, ids), timeout=timeout, interval=0.2, what="every task completed")
        assert await completed_outputs(settings, ids) == prompts
    nc, js = await connect(settings, "e2e-check")
    store = EventStore(nc, js, settings)
    try:
        return {task_id: [r.envelope.type for r in await store.load("task", task_id)] for task_id in ids}
    finally:
        await nc.close()


async def test_sidecar_killed_mid_task_loses_no_task(settings: Settings, stack: ProcessStack) -> None:
    def crash() -> None:
        stack.kill9("sidecar-slow")
        stack.restart("sidecar-slow")

    for types in (await through_a_crash(settings, stack, "e2e-slow", crash)).values():
        assert types.count("task.completed.v1") == 1, types


async def test_coordinator_killed_mid_flow_loses_no_task(settings: Settings, stack: ProcessStack) -> None:
    """kill -9 of the coordinator with decisions, dispatches and reports in flight: its successor folds the
    log, resends what may not have gone out, and gets the unacknowledged reports again."""
    def crash() -> None:
        stack.kill9("coordinator")
        stack.restart("coordinator")

    for types in (await through_a_crash(settings, stack, "e2e-coord", crash)).values():
        assert types.count("task.completed.v1") == 1 and types.count("task.assigned.v1") == 1, types


async def test_nats_server_killed_and_restarted_mid_flow_loses_no_task(settings: Settings) -> None:
    """kill -9 of the nats-server itself while tasks run: every service reconnects (nats-py's connections,
    the publishers' and readers' own), nothing acknowledged is lost, no task completes twice."""
    home = Path(tempfile.mkdtemp(prefix="hive-e2e-nats-"))
    server = EmbeddedNats(home / "nats")
    own = msgspec.structs.replace(settings, nats_url=server.start())
    stack = ProcessStack(own, home)
    try:
        for service in ("coordinator", "projections", "gateway"):
            stack.start(service)
        await wait_until(stack.ready, timeout=60, what="gateway /ready")

        def crash() -> None:
            server.kill()
            server.start()

        histories = await through_a_crash(own, stack, "e2e-nats", crash, timeout=240)
        for name in ("coordinator", "projections", "gateway", "sidecar-slow"):
            assert stack.alive(name), stack.log_tail(name)
        for types in histories.values():
            assert types.count("task.completed.v1") == 1, types
    finally:
        stack.stop_all()
        server.stop()
        shutil.rmtree(home, ignore_errors=True)
