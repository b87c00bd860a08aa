"""The whole system on infra/nats-cluster's 3 nodes (streams replicated 3 times), each process as its own
NATS user: the event stream's leader is killed with -9 while tasks run, and every task still completes
exactly once."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import asyncpg
import httpx
import msgspec
import pytest

from core.settings import Settings
from core.store.connect import connect
from core.store.event_store import EventStore
from tests.e2e.flow import all_done, completed_outputs, count_status, submit, token
from tests.e2e.processes import write_sidecar_config
from tests.e2e.test_nats_users_e2e import UsersStack
from tests.helpers import wait_until
from tests.integration.infra_nats import CLUSTER, infra_nats
from tests.integration.test_nats_cluster import leader_node, replicas_current, streams_ready

pytestmark = pytest.mark.e2e


async def test_tasks_complete_once_when_a_cluster_node_is_killed(settings: Settings) -> None:
    home = Path(tempfile.mkdtemp(prefix="hive-e2e-cluster-"))
    with infra_nats(CLUSTER) as cluster:
        own = msgspec.structs.replace(settings, prefix="hive", stream_replicas=3, nats_url=",".join(
            cluster.url("admin", node) for node in range(3)))
        nc, js = await connect(own, "e2e-cluster-admin", ensure=False)
        stack = UsersStack(own, home, cluster)
        try:
            # The services create the streams themselves, but only once the cluster has a meta leader.
            await wait_until(lambda: streams_ready(js, own), timeout=60, what="R3 streams created")
            for service in ("coordinator", "projections", "gateway"):
                stack.start(service)
            await wait_until(stack.ready, timeout=60, what="gateway /ready")
            for name, agent_id in (("sidecar-a", "gpu-a"), ("sidecar-b", "gpu-b")):
                config = write_sidecar_config(home / f"{agent_id}.toml", agent_id, ["sh", "-c", "sleep 0.3; cat"])
                stack.start(name, "--config", str(config))
            headers = {"Authorization": f"Bearer {token(own)}"}
            async with httpx.AsyncClient(base_url=stack.gateway_url, headers=headers, timeout=30) as http:
                await wait_until(lambda: agents_online(http, stack), timeout=90, what="both agents online")
                await wait_until(lambda: replicas_current(js, own), timeout=60, what="3 current replicas")
                leader = await wait_until(lambda: leader_node(js, own), timeout=30, what="the event stream's leader")
                assert leader is not None
                prompts = await submit(http, 48, "cluster")
                ids = list(prompts)
                await wait_until(lambda: count_status(own, "running", ids), timeout=60, what="tasks running")
                cluster.servers[leader - 1].kill()
                try:
                    await wait_until(lambda: supervised_done(own, ids, stack), timeout=120, interval=0.2,
                                     what="every task completed")
                except AssertionError as err:
                    raise AssertionError(f"{err}\n{await diagnosis(own, ids, stack)}") from None
                assert await completed_outputs(own, ids) == prompts
                # The coordinator may exit only by stepping down: it could not renew its lease for a TTL while
                # the lease's stream elected a leader. Any other exit is a crash.
                exits = [r for r in stack.restarts if r.startswith("coordinator")]
                assert all("LeadershipLost" in r for r in exits), exits
            store = EventStore(nc, js, own)
            for task_id in ids:
                types = [r.envelope.type for r in await store.load("task", task_id)]
                assert types.count("task.completed.v1") == 1, types
            for name in stack.procs:
                assert stack.alive(name), stack.log_tail(name)
        finally:
            stack.stop_all()
            await nc.close()
            shutil.rmtree(home, ignore_errors=True)


async def agents_online(http: httpx.AsyncClient, stack: UsersStack) -> bool:
    """Both agents registered. A sidecar that exits while starting is started again, as its systemd unit
    (Restart=always) would, and the restart is recorded (the sidecar retries a cluster's transient errors at
    start, so none is expected)."""
    for name in ("sidecar-a", "sidecar-b"):
        if not stack.alive(name):
            stack.restarts.append(f"{name}: {stack.log_tail(name, 3)}")
            stack.restart(name)
    agents = {a["id"]: a["status"] for a in (await http.get("/api/agents")).json()["items"]}
    return agents.get("gpu-a") == "online" and agents.get("gpu-b") == "online"


async def supervised_done(settings: Settings, ids: list[str], stack: UsersStack) -> bool:
    """Every task completed. Meanwhile a coordinator that exited is started again, as `hive dev` or systemd
    would: a leader that cannot renew its lease for a whole TTL (the lease's stream may be electing a new leader
    for longer than this test's 3 s TTL) steps down by exiting, to come back as a standby."""
    if not stack.alive("coordinator"):
        stack.restarts.append(f"coordinator: {stack.log_tail('coordinator', 12)}")
        stack.restart("coordinator")
    return await all_done(settings, ids)


async def diagnosis(settings: Settings, ids: list[str], stack: UsersStack) -> str:
    """Where the tasks are and what the services logged last: for a failure's message."""
    conn = await asyncpg.connect(settings.database_url, server_settings={"search_path": settings.db_schema})
    try:
        rows = await conn.fetch("SELECT status, count(*) AS n FROM tasks WHERE id = ANY($1::text[]) GROUP BY status",
                                ids)
    finally:
        await conn.close()
    # A crashed service's traceback chain is long: its first error is the one that matters.
    tails = "\n".join(f"--- {name}\n{stack.log_tail(name, 80 if name == 'coordinator' else 25)}"
                       for name in stack.procs)
    return f"tasks by status: {dict((r['status'], r['n']) for r in rows)}; restarts: {stack.restarts}\n{tails}"
