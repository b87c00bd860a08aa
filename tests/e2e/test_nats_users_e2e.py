"""The whole system as separate processes, each service and agent connected as its own NATS user from
infra/nats-auth.conf: tasks run, the read model and WebSocket see them, and the server refuses nothing."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import httpx
import msgspec
import pytest
import websockets

from core.settings import Settings
from tests.e2e.flow import LIFECYCLE, all_done, completed_outputs, submit, token
from tests.e2e.processes import ProcessStack, write_sidecar_config
from tests.helpers import wait_until
from tests.integration.infra_nats import SINGLE, InfraNats, infra_nats

pytestmark = pytest.mark.e2e

# Which NATS user each service process connects as.
USERS = {"coordinator": "coordinator", "projections": "projections", "gateway": "gateway",
         "sidecar-a": "gpu-a", "sidecar-b": "gpu-b"}


class UsersStack(ProcessStack):
    """ProcessStack whose every process gets its own user's URL (and an agent its inbox prefix); on a
    cluster, the URLs of every node and 3 replicas."""

    def __init__(self, settings: Settings, home: Path, server: InfraNats) -> None:
        super().__init__(settings, home)
        self.server = server
        self._user = ""
        self.restarts: list[str] = []  # why a process was started again (see test_cluster_e2e.agents_online)

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        self._user = USERS[name]
        return super().start(name, *args)

    def env(self) -> dict[str, str]:
        env = super().env()
        nodes = range(len(self.server.servers))
        env["HIVE_NATS_URL"] = ",".join(self.server.url(self._user, node) for node in nodes)
        if len(nodes) > 1:
            env["HIVE_STREAM_REPLICAS"] = str(len(nodes))
        if self._user.startswith("gpu-"):
            env["HIVE_NATS_INBOX_PREFIX"] = f"_INBOX_{self._user}"
        return env


async def test_every_service_runs_as_its_own_nats_user(settings: Settings) -> None:
    home = Path(tempfile.mkdtemp(prefix="hive-e2e-users-"))
    # infra/nats-auth.conf is written for the prefix `hive`; the server is this test's own.
    own = msgspec.structs.replace(settings, prefix="hive")
    with infra_nats([SINGLE]) as server:
        stack = UsersStack(own, home, server)
        try:
            for service in ("coordinator", "projections", "gateway"):
                stack.start(service)
            await wait_until(stack.ready, timeout=60, what="gateway /ready")
            for name, agent_id in (("sidecar-a", "gpu-a"), ("sidecar-b", "gpu-b")):
                stack.start(name, "--config", str(write_sidecar_config(home / f"{agent_id}.toml", agent_id, ["cat"])))
            headers = {"Authorization": f"Bearer {token(own)}"}
            ws_url = stack.gateway_url.replace("http://", "ws://") + "/ws"
            async with websockets.connect(ws_url, additional_headers=headers) as ws, \
                    httpx.AsyncClient(base_url=stack.gateway_url, headers=headers, timeout=30) as http:
                await ws.send(json.dumps({"id": "s", "type": "subscribe", "topic": "task.*"}))
                assert json.loads(await asyncio.wait_for(ws.recv(), 30))["data"]["subscribed"]
                prompts = await submit(http, 40, "users")
                ids = list(prompts)
                await wait_until(lambda: all_done(own, ids), timeout=120, interval=0.2, what="40 tasks completed")
                assert await completed_outputs(own, ids) == prompts
                history = (await http.get(f"/api/tasks/{ids[0]}/events")).json()
                assert [e["type"] for e in history["items"]] == LIFECYCLE
                agents = {a["id"]: a["status"] for a in (await http.get("/api/agents")).json()["items"]}
                assert set(agents) == {"gpu-a", "gpu-b"}, agents
                # The WebSocket replays and follows the log through the gateway's user too.
                seen: set[str] = set()
                while len(seen) < len(ids):
                    msg = json.loads(await asyncio.wait_for(ws.recv(), 30))
                    if msg["type"] == "data" and msg["data"].get("type") == "task.completed.v1":
                        seen.add(msg["topic"].removeprefix("task."))
                assert seen == set(ids)
            codes = stack.stop_all()
            assert all(code == 0 for code in codes.values()), codes
        finally:
            stack.stop_all()
            shutil.rmtree(home, ignore_errors=True)
        log = (server.servers[0].store_dir / "nats-server.log").read_text()
        assert "Violation" not in log, [line for line in log.splitlines() if "Violation" in line]
