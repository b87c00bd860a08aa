"""A `hive sidecar` process with [http] and [mcp] tables beside an in-process fleet, for the e2e tests."""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from core.settings import Settings
from tests.e2e.processes import ProcessStack
from tests.fakes.http_target import HttpTarget
from tests.helpers import wait_until
from tests.integration.fleet_stack import Fleet, fleet

REPO = Path(__file__).resolve().parents[2]


def sidecar_toml(agent_id: str, target_port: int) -> str:
    """`echo` by `cat`, HTTP to the target only, and the fake MCP server over stdio as `tools`."""
    return f"""
agent_id = "{agent_id}"
max_concurrency = 4
grace_period_s = 5.0
[capabilities]
echo = 1.0
[executor]
type = "command"
argv = ["cat"]
[http]
allowed_hosts = ["127.0.0.1:{target_port}"]
timeout_s = 10
[mcp.servers.tools]
transport = "stdio"
command = "{sys.executable}"
args = ["-m", "tests.fakes.mcp_server"]
cwd = "{REPO}"
"""


@asynccontextmanager
async def kinds_sidecar(settings: Settings, agent_id: str, name: str
                        ) -> AsyncIterator[tuple[Fleet, HttpTarget, ProcessStack]]:
    """The fleet, the HTTP target and the process stack, once the sidecar process `name` has registered."""
    home = Path(tempfile.mkdtemp(prefix=f"hive-{name}-"))
    async with HttpTarget() as target, fleet(settings) as stack:
        processes = ProcessStack(settings, home)
        config = home / "sidecar.toml"
        config.write_text(sidecar_toml(agent_id, target.port))
        processes.start(name, "--config", str(config))
        try:
            agents = stack.coordinator.fleet.agents

            def registered() -> bool:
                if not processes.alive(name):
                    raise AssertionError(f"the sidecar exited:\n{processes.log_tail(name)}")
                return agent_id in agents and agents[agent_id].candidate.online

            await wait_until(registered, timeout=60, what="the sidecar process registered")
            yield stack, target, processes
        finally:
            processes.stop_all()
            shutil.rmtree(home, ignore_errors=True)
