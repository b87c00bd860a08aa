"""A whole fleet in this process for the cancel, pin and drain tests: the gateway served on a free port, a
projector, the coordinator, and sidecars made on demand (no tests here)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import msgspec

from agent_sidecar.config import parse_config
from agent_sidecar.executors import Executor
from agent_sidecar.service import Sidecar
from core.coordinator.service import Coordinator
from core.dev.ports import free_port
from core.settings import Settings
from core.store.connect import connect
from projections.service import running_projector
from tests.helpers import wait_until
from tests.integration.served import served
from tests.integration.test_gateway_support import auth


class Fleet:
    def __init__(self, settings: Settings, client: httpx.AsyncClient, coordinator: Coordinator) -> None:
        self.settings = settings
        self.client = client
        self.coordinator = coordinator
        self.sidecars: list[Sidecar] = []

    def make_sidecar(self, runner: Executor | None = None, **config: Any) -> Sidecar:
        """A sidecar (default: capability echo, 1 slot, `cat`; `runner` replaces the configured executor)."""
        raw: dict[str, Any] = {"agent_id": f"agent-{uuid.uuid4().hex[:8]}", "max_concurrency": 1,
                               "capabilities": {"echo": 1.0}, "executor": {"type": "command", "argv": ["cat"]}}
        raw.update(config)
        sidecar = Sidecar(self.settings, parse_config(raw), executor=runner, start_report_delay_s=0.0)
        self.sidecars.append(sidecar)
        return sidecar

    async def registered(self, sidecar: Sidecar) -> None:
        """On record with the coordinator and in the read models (a pin checks the agents read model)."""
        agents = self.coordinator.fleet.agents
        await wait_until(lambda: sidecar.agent_id in agents and agents[sidecar.agent_id].candidate.online,
                         what=f"{sidecar.agent_id} registered")

        async def listed() -> bool:
            resp = await self.client.get(f"/api/agents/{sidecar.agent_id}", headers=auth(self.settings, "viewer"))
            return resp.status_code == 200 and resp.json()["status"] == "online"

        await wait_until(listed, what=f"{sidecar.agent_id} in the agents read model")

    async def sidecar(self, runner: Executor | None = None, **config: Any) -> Sidecar:
        """make_sidecar, started, once the coordinator has it on record."""
        sidecar = self.make_sidecar(runner, **config)
        await sidecar.start()
        await self.registered(sidecar)
        return sidecar

    async def create(self, role: str = "developer", **body: Any) -> dict[str, Any]:
        resp = await self.client.post("/api/tasks", json={"title": "t", **body}, headers=auth(self.settings, role))
        assert resp.status_code == 201, resp.text
        return dict(resp.json())

    async def task(self, task_id: str) -> dict[str, Any]:
        resp = await self.client.get(f"/api/tasks/{task_id}", headers=auth(self.settings, "viewer"))
        assert resp.status_code == 200, resp.text
        return dict(resp.json())

    async def agent(self, agent_id: str, min_seq: int = 0) -> dict[str, Any]:
        resp = await self.client.get(f"/api/agents/{agent_id}", params={"min_seq": min_seq},
                                     headers=auth(self.settings, "viewer"))
        assert resp.status_code == 200, resp.text
        return dict(resp.json())

    async def reaches(self, task_id: str, status: str) -> dict[str, Any]:
        """The task once it shows `status` (read model, or the log while the read model catches up)."""

        async def probe() -> dict[str, Any] | None:
            task = await self.task(task_id)
            return task if task["status"] == status else None

        found: dict[str, Any] = await wait_until(probe, what=f"task {task_id} {status}")
        return found

    async def event_types(self, task_id: str) -> list[str]:
        resp = await self.client.get(f"/api/tasks/{task_id}/events", headers=auth(self.settings, "viewer"))
        assert resp.status_code == 200, resp.text
        return [item["type"] for item in resp.json()["items"]]


@asynccontextmanager
async def fleet(settings: Settings) -> AsyncIterator[Fleet]:
    # A real server in this event loop (the test client would run the app where the projector cannot progress).
    settings = msgspec.structs.replace(settings, gateway_port=free_port())
    nc, js = await connect(settings, "coordinator")
    coordinator = Coordinator(settings, nc, js)
    await coordinator.start()
    stack = None
    try:
        async with served(settings, asyncio.Event()) as (client, _), running_projector(settings):
            stack = Fleet(settings, client, coordinator)
            yield stack
    finally:
        for sidecar in stack.sidecars if stack else []:
            await sidecar.drain(grace_s=0)
        await coordinator.stop()
        await nc.close()
