"""A fresh Hive for benchmarking: embedded servers in a temp folder and every service as a process."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import psutil

from core.dev.embedded_nats import EmbeddedNats
from core.dev.embedded_postgres import EmbeddedPostgres
from core.settings import Settings, load_settings
from tests.e2e.processes import ProcessStack


class BenchStack:
    def __init__(self, sidecars: int = 2, concurrency: int = 64) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="hive-bench-"))
        self.home.chmod(0o755)
        self.nats = EmbeddedNats(self.home / "nats", gomaxprocs=1 if (os.cpu_count() or 1) <= 2 else None)
        self.pg = EmbeddedPostgres(self.home / "pg")
        self.sidecars, self.concurrency = sidecars, concurrency
        self.settings: Settings | None = None
        self.procs: ProcessStack | None = None

    async def start(self) -> Settings:
        nats_url, pg_url = self.nats.start(), self.pg.start()
        self.settings = load_settings({}, nats_url=nats_url, database_url=pg_url, prefix="hive", db_schema="hive",
                                      jwt_secret=uuid.uuid4().hex * 2, log_level="WARNING")
        self.procs = ProcessStack(self.settings, self.home)
        for service in ("coordinator", "projections", "gateway"):
            self.procs.start(service)
        for i in range(self.sidecars):
            config = self.home / f"sidecar-{i}.toml"
            config.write_text(f'agent_id = "bench-{i}"\nmax_concurrency = {self.concurrency}\n'
                              '[capabilities]\necho = 1.0\n[executor]\ntype = "noop"\n')
            self.procs.start(f"sidecar-{i}", "--config", str(config))
        deadline = time.monotonic() + 120
        while not await self.procs.ready():
            if time.monotonic() > deadline:
                raise TimeoutError("stack not ready")
            await asyncio.sleep(0.1)
        return self.settings

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time used so far by each server and service (PostgreSQL with its backends), and this process."""
        procs: dict[str, psutil.Process] = {"benchmark": psutil.Process()}
        if self.procs is not None:
            procs.update({name: psutil.Process(p.pid) for name, p in self.procs.procs.items() if p.poll() is None})
        if self.nats.proc is not None:
            procs["nats"] = psutil.Process(self.nats.proc.pid)
        out = {name: sum(proc.cpu_times()[:2]) for name, proc in procs.items()}
        if self.pg.proc is not None:
            # Backends come and go; a departed one's time is not counted (the pools here keep theirs open).
            root = psutil.Process(self.pg.proc.pid)
            out["postgres"] = sum(sum(p.cpu_times()[:2]) for p in [root, *root.children(recursive=True)])
        return out

    @property
    def gateway_url(self) -> str:
        assert self.procs is not None
        return self.procs.gateway_url

    def stop(self) -> None:
        try:
            if self.procs is not None:
                self.procs.stop_all()
        finally:
            self.pg.stop()
            self.nats.stop()
            shutil.rmtree(self.home, ignore_errors=True)
