"""Machine failures as real processes: a sidecar killed with -9 (its tasks finish on another agent within the
heartbeat window plus a few seconds), a sidecar paused past the window that comes back and reports its old
result (rejected, recorded), and the leading coordinator killed with a standby taking over."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import httpx
import pytest

from core.settings import Settings
from core.store.connect import connect
from core.store.event_store import EventStore
from tests.e2e.flow import all_done, completed_outputs, count_status, submit, token
from tests.e2e.processes import ProcessStack, write_sidecar_config
from tests.helpers import wait_until

pytestmark = pytest.mark.e2e

SLOW = ["sh", "-c", "sleep 1.5; cat"]



def sidecar(stack: ProcessStack, name: str, agent_id: str, argv: list[str], concurrency: int = 4) -> None:
    stack.start(f"sidecar-{name}", "--config",
                str(write_sidecar_config(stack.home / f"{name}.toml", agent_id, argv, concurrency=concurrency)))


async def histories(settings: Settings, ids: list[str]) -> dict[str, list[Any]]:
    nc, js = await connect(settings, "e2e-check")
    try:
        store = EventStore(nc, js, settings)
        return {task_id: [r.envelope for r in await store.load("task", task_id)] for task_id in ids}
    finally:
        await nc.close()


async def agent(client: httpx.AsyncClient, agent_id: str) -> dict[str, Any]:
    resp = await client.get(f"/api/agents/{agent_id}")
    return dict(resp.json()) if resp.status_code == 200 else {}


async def running_on(settings: Settings, stack: ProcessStack, client: httpx.AsyncClient, n: int,
                     agent_id: str) -> dict[str, str]:
    """Submit n tasks while only `agent_id` serves them, and wait until all it can take are running."""
    prompts = await submit(client, n, agent_id)
    await wait_until(lambda: count_status(settings, "running", list(prompts)), timeout=60, what="tasks running")
    return prompts


async def test_a_sidecar_killed_mid_task_is_lost_and_its_tasks_complete_elsewhere(
        settings: Settings, stack: ProcessStack) -> None:
    sidecar(stack, "a", "e2e-doomed", SLOW)
    async with httpx.AsyncClient(base_url=stack.gateway_url, headers={"Authorization": f"Bearer {token(settings)}"},
                                 timeout=30) as client:
        await wait_until(lambda: agent(client, "e2e-doomed"), timeout=60, what="agent a registered")
        prompts = await running_on(settings, stack, client, 4, "e2e-doomed")
        ids = list(prompts)
        sidecar(stack, "b", "e2e-survivor", SLOW)
        await wait_until(lambda: agent(client, "e2e-survivor"), timeout=60, what="agent b registered")
        killed = time.monotonic()
        stack.kill9("sidecar-a")
        await wait_until(lambda: all_done(settings, ids), timeout=120, interval=0.2, what="every task completed")
        print(f"recovered in {time.monotonic() - killed:.1f}s (lost after {settings.agent_lost_after_s}s of silence)")
        assert await completed_outputs(settings, ids) == prompts
        lost = await agent(client, "e2e-doomed")
        assert lost["status"] == "lost" and lost["lost_at"] is not None
    for task_id, envs in (await histories(settings, ids)).items():
        types = [e.type for e in envs]
        assert types.count("task.completed.v1") == 1, types
        retry = next(e for e in envs if e.type == "task.retry_scheduled.v1")
        assert (retry.data.reason, retry.data.agent_id) == ("agent_lost", "e2e-doomed"), task_id
        assert envs[-1].data.agent_id == "e2e-survivor"


async def test_a_paused_sidecar_comes_back_and_its_late_results_are_rejected(
        settings: Settings, stack: ProcessStack) -> None:
    sidecar(stack, "a", "e2e-paused", SLOW, concurrency=2)
    async with httpx.AsyncClient(base_url=stack.gateway_url, headers={"Authorization": f"Bearer {token(settings)}"},
                                 timeout=30) as client:
        await wait_until(lambda: agent(client, "e2e-paused"), timeout=60, what="agent a registered")
        prompts = await running_on(settings, stack, client, 2, "e2e-paused")
        ids = list(prompts)
        sidecar(stack, "b", "e2e-steady", SLOW, concurrency=2)
        await wait_until(lambda: agent(client, "e2e-steady"), timeout=60, what="agent b registered")
        pid = stack.procs["sidecar-a"].pid
        os.kill(pid, signal.SIGSTOP)
        try:
            await wait_until(lambda: all_done(settings, ids), timeout=120, interval=0.2, what="done on agent b")
            assert (await agent(client, "e2e-paused"))["status"] == "lost"
        finally:
            os.kill(pid, signal.SIGCONT)

        async def rejected() -> bool:
            envs = await histories(settings, ids)
            return all(any(e.type == "task.report_rejected.v1" for e in h) for h in envs.values())

        # Its runs had finished while it was stopped: it reports them now, for attempts that are over.
        await wait_until(rejected, timeout=60, what="the late reports rejected")

        async def back() -> bool:
            return (await agent(client, "e2e-paused")).get("status") == "online"

        await wait_until(back, timeout=60, what="agent a recovered")
        assert await completed_outputs(settings, ids) == prompts
    for envs in (await histories(settings, ids)).values():
        types = [e.type for e in envs]
        assert types.count("task.completed.v1") == 1, types
        done = next(e for e in envs if e.type == "task.completed.v1")
        late = next(e for e in envs if e.type == "task.report_rejected.v1")
        assert (done.data.agent_id, done.data.attempt) == ("e2e-steady", 2)
        assert (late.data.agent_id, late.data.attempt, late.data.report) == ("e2e-paused", 1, "completed")


async def test_the_leading_coordinator_killed_and_the_standby_takes_over(
        settings: Settings, stack: ProcessStack) -> None:
    stack.start("coordinator-standby")
    sidecar(stack, "a", "e2e-failover", ["sh", "-c", "sleep 0.3; cat"], concurrency=4)
    async with httpx.AsyncClient(base_url=stack.gateway_url, headers={"Authorization": f"Bearer {token(settings)}"},
                                 timeout=30) as client:
        await wait_until(lambda: agent(client, "e2e-failover"), timeout=60, what="agent registered")
        prompts = await submit(client, 24, "failover")
        ids = list(prompts)
        await wait_until(lambda: count_status(settings, "running", ids), timeout=60, what="tasks running")
        killed = time.monotonic()
        stack.kill9("coordinator")
        await wait_until(lambda: all_done(settings, ids), timeout=120, interval=0.2, what="every task completed")
        print(f"all done {time.monotonic() - killed:.1f}s after the leader was killed (lease ttl "
              f"{settings.leader_ttl_s}s)")
        assert await completed_outputs(settings, ids) == prompts
        assert stack.alive("coordinator-standby"), stack.log_tail("coordinator-standby")
        assert "leads" in stack.log_tail("coordinator-standby", 400)
    for envs in (await histories(settings, ids)).values():
        types = [e.type for e in envs]
        assert types.count("task.completed.v1") == 1 and types.count("task.assigned.v1") == 1, types
