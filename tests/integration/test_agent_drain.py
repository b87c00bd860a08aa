"""POST /api/agents/{id}/drain: the agent gets no new work, finishes what it runs, deregisters; meanwhile the
read model shows it `draining`, then `offline`. Real NATS, PostgreSQL, coordinator, projector, gateway, sidecars."""

from __future__ import annotations

import asyncio

from core.settings import Settings
from tests.fakes.gated_executor import GatedExecutor
from tests.helpers import wait_until
from tests.integration.fleet_stack import fleet
from tests.integration.test_gateway_support import auth


async def test_a_drained_agent_finishes_its_task_and_new_work_goes_elsewhere(settings: Settings) -> None:
    async with fleet(settings) as f:
        gated_a, gated_b = GatedExecutor(), GatedExecutor()
        a = await f.sidecar(gated_a, max_concurrency=2, grace_period_s=600.0)
        running = await f.create(capabilities=["echo"])
        await wait_until(lambda: gated_a.started == [running["id"]], what="a task running on a")
        b = await f.sidecar(gated_b, capabilities={"echo": 0.1})

        resp = await f.client.post(f"/api/agents/{a.agent_id}/drain", headers=auth(settings, "admin", "root"))
        assert resp.status_code == 202, resp.text
        assert (resp.json()["id"], resp.json()["status"]) == (a.agent_id, "draining")
        seq = resp.json()["seq"]
        assert (await f.agent(a.agent_id, min_seq=seq))["status"] == "draining"
        await wait_until(lambda: a.draining, what="the sidecar draining on the coordinator's order")

        # a still has a free slot and the better score, but it is draining: new work goes to b.
        new = await f.create(capabilities=["echo"])
        await wait_until(lambda: new["id"] in gated_b.started, what="the new task on b")
        assert gated_a.started == [running["id"]]
        # Asked again while draining: accepted, nothing more recorded.
        again = await f.client.post(f"/api/agents/{a.agent_id}/drain", headers=auth(settings, "admin"))
        assert again.status_code == 202 and again.json()["seq"] == seq

        gated_a.release(running["id"])
        done = await f.reaches(running["id"], "completed")
        assert done["assigned_agent_id"] == a.agent_id

        async def offline() -> bool:
            return (await f.agent(a.agent_id))["status"] == "offline"

        await wait_until(offline, what=f"{a.agent_id} offline in the read model")
        assert f.coordinator.fleet.agents[a.agent_id].agent.status == "offline"
        gated_b.release(new["id"])
        await f.reaches(new["id"], "completed")
        gone = await f.client.post(f"/api/agents/{a.agent_id}/drain", headers=auth(settings, "admin"))
        assert gone.status_code == 409 and gone.json()["detail"] == f"agent {a.agent_id} is offline: there is nothing to drain"


async def test_a_sidecar_drained_by_order_stays_out_until_restarted(settings: Settings) -> None:
    async with fleet(settings) as f:
        a = f.make_sidecar()
        stop = asyncio.Event()
        # run() as `hive sidecar` does: the drain ends its work, not the process.
        runner = asyncio.create_task(a.run(stop))
        await f.registered(a)
        resp = await f.client.post(f"/api/agents/{a.agent_id}/drain", headers=auth(settings, "admin"))
        assert resp.status_code == 202, resp.text
        await wait_until(lambda: f.coordinator.fleet.agents[a.agent_id].agent.status == "offline",
                         what="deregistered")
        assert not runner.done()
        stop.set()
        await runner


async def test_drain_needs_the_permission_and_a_known_agent(settings: Settings) -> None:
    async with fleet(settings) as f:
        a = await f.sidecar()
        path = f"/api/agents/{a.agent_id}/drain"
        assert (await f.client.post(path)).status_code == 401
        for role in ("developer", "viewer"):
            refused = await f.client.post(path, headers=auth(settings, role))
            assert refused.status_code == 403 and "agents.drain" in refused.json()["detail"]
        assert (await f.client.post("/api/agents/nobody/drain", headers=auth(settings, "admin"))).status_code == 404
        assert (await f.client.post("/api/agents/a.b/drain", headers=auth(settings, "admin"))).status_code == 404
        assert not a.draining
