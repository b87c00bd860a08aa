"""Faults on the read side, with every service a real process: kill -9 of the projections, and a restart of
PostgreSQL, while tasks are submitted and run. The read model ends with every task exactly once, as the log
has it; the gateway answers throughout (stale reads, or 503 while PostgreSQL is down; never a 500)."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from core.dev.embedded_postgres import EmbeddedPostgres
from core.dev.ports import free_port
from core.settings import Settings
from core.store.connect import connect
from core.store.event_store import EventStore
from tests.e2e.flow import all_done, completed_outputs, count_status, submit, token
from tests.e2e.processes import ProcessStack, write_sidecar_config
from tests.e2e.read_side import CheckpointWatch, MirrorWatch, ReadProbe, all_completed_in_log, read_model_vs_log
from tests.helpers import wait_until
from tests.integration.own_postgres import own_postgres

pytestmark = pytest.mark.e2e

SERVICES = ("coordinator", "projections", "gateway")


@asynccontextmanager
async def background(*coros: Coroutine[Any, Any, None]) -> AsyncIterator[list[asyncio.Task[None]]]:
    """Run the probes for the block; one that failed re-raises its error at the end."""
    tasks = [asyncio.create_task(c) for c in coros]
    try:
        yield tasks
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass


async def _ready(url: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=2.0) as client:
            return (await client.get(f"{url}/ready")).status_code == 200
    except httpx.HTTPError:
        return False


@asynccontextmanager
async def running(settings: Settings, home: Path) -> AsyncIterator[ProcessStack]:
    stack = ProcessStack(settings, home)
    try:
        for service in SERVICES:
            stack.start(service)
        await wait_until(stack.ready, timeout=60, what="gateway /ready")
        yield stack
    finally:
        stack.stop_all()


def assert_alive(stack: ProcessStack) -> None:
    for name in stack.procs:
        assert stack.alive(name), f"{name} exited:\n{stack.log_tail(name)}"


async def test_projections_killed_mid_flow_resume_with_every_task_once(settings: Settings) -> None:
    """200 tasks (over 1,000 events); the projections are killed with -9 once the first are projected and
    restarted after the log has run hundreds of events ahead of the frozen checkpoint."""
    home = Path(tempfile.mkdtemp(prefix="hive-e2e-projections-"))
    nc, js = await connect(settings, "e2e-check")
    store = EventStore(nc, js, settings)
    watch, mirror = CheckpointWatch(settings), MirrorWatch(js, settings)
    headers = {"Authorization": f"Bearer {token(settings)}"}
    try:
        async with running(settings, home) as stack, \
                httpx.AsyncClient(base_url=stack.gateway_url, headers=headers, timeout=30) as client, \
                background(watch.run(), mirror.run()):
            config = write_sidecar_config(home / "a.toml", "e2e-proj", ["sh", "-c", "sleep 0.02; cat"], concurrency=8)
            stack.start("sidecar-a", "--config", str(config))
            prompts = await submit(client, 100, "first")
            ids = list(prompts)
            probe = ReadProbe(client, list(ids))
            async with background(probe.run()):
                second = asyncio.create_task(submit(client, 100, "second"))
                await wait_until(lambda: count_status(settings, "completed", ids), timeout=60, what="first completions")
                stack.kill9("projections")
                probe.phase = "down"
                killed_at, down_since = await watch.stored(), time.monotonic()
                prompts |= await second
                ids = list(prompts)
                probe.ids.extend(ids[100:])
                # The log runs on: every task completes while nothing projects.
                await wait_until(lambda: all_completed_in_log(store, ids), timeout=90, interval=0.2,
                                 what="every task completed in the log")
                await wait_until(lambda: probe.count("down") >= 40, timeout=30, what="reads during the outage")
                log_at_restart = await store.stream_last_seq()
                assert await watch.stored() == killed_at, "the checkpoint moved with the projections dead"
                stack.restart("projections")
                probe.phase, restarted = "after", time.monotonic()
                await wait_until(lambda: all_done(settings, ids), timeout=60, interval=0.1, what="read model caught up")
                caught_up = time.monotonic()
                await wait_until(lambda: watch.seen[-1] >= log_at_restart, timeout=30, what="checkpoint past the gap")
                await wait_until(lambda: mirror.seen and mirror.seen[-1] >= log_at_restart, timeout=30,
                                 what="the NATS mirror of the checkpoint past the gap")
                await wait_until(lambda: probe.count("after") >= 10, timeout=30, what="reads after the restart")
            assert_alive(stack)
        print(f"\nprojections down {restarted - down_since:.1f} s from checkpoint {killed_at}; the log was at "
              f"{log_at_restart} ({log_at_restart - killed_at} events behind); every task projected "
              f"{caught_up - restarted:.2f} s after the restart; answers {dict(probe.answers)}; "
              f"{len(watch.seen)} checkpoint reads, {len(mirror.seen)} mirrored checkpoints")
        assert probe.bad == [] and {s for (_, _, s) in probe.answers} == {200}, (probe.bad, probe.answers)
        assert watch.backwards() == [] and mirror.backwards() == [], (watch.backwards(), mirror.backwards())
        assert await completed_outputs(settings, ids) == prompts
        assert await read_model_vs_log(settings, store, ids) == []
    finally:
        await nc.close()
        shutil.rmtree(home, ignore_errors=True)


async def test_postgres_restarted_mid_flow(settings: Settings) -> None:
    """The test's own PostgreSQL is stopped while tasks run, more are submitted (201: writes go to NATS),
    reads answer 503 problems, a projections process started meanwhile waits; started again on the same
    port and data, every process reconnects by itself and the read model catches up."""
    home = Path(tempfile.mkdtemp(prefix="hive-e2e-pg-"))
    try:
        with own_postgres(home) as server:
            own = msgspec.structs.replace(settings, database_url=server.url)
            await _through_a_postgres_restart(own, server, home)
    finally:
        shutil.rmtree(home, ignore_errors=True)


async def _through_a_postgres_restart(own: Settings, server: EmbeddedPostgres, home: Path) -> None:
    nc, js = await connect(own, "e2e-check")
    store = EventStore(nc, js, own)
    watch, mirror = CheckpointWatch(own), MirrorWatch(js, own)
    headers = {"Authorization": f"Bearer {token(own)}"}
    try:
        async with running(own, home) as stack, \
                httpx.AsyncClient(base_url=stack.gateway_url, headers=headers, timeout=30) as client, \
                background(watch.run(), mirror.run()):
            config = write_sidecar_config(home / "a.toml", "e2e-pg", ["sh", "-c", "sleep 0.2; cat"], concurrency=4)
            stack.start("sidecar-a", "--config", str(config))
            prompts = await submit(client, 40, "before")
            ids = list(prompts)
            probe = ReadProbe(client, list(ids))
            async with background(probe.run()):
                await wait_until(lambda: count_status(own, "completed", ids), timeout=60, what="first completions")
                server.stop()
                probe.phase, down_since = "down", time.monotonic()
                # Writes go to NATS: submitting works without PostgreSQL, and the tasks run.
                prompts |= await submit(client, 40, "during")
                ids = list(prompts)
                probe.ids.extend(ids[40:])
                await wait_until(lambda: all_completed_in_log(store, ids), timeout=60, interval=0.2,
                                 what="every task completed in the log while PostgreSQL is down")
                await wait_until(lambda: probe.count("down") >= 20, timeout=30, what="reads during the outage")
                ready = await client.get("/ready")
                assert ready.status_code == 503 and ready.json()["checks"]["postgres"] != "ok", ready.text
                assert (await client.get("/health")).status_code == 200
                # A projections process started while PostgreSQL is away waits for it instead of exiting, and
                # a SIGTERM ends the wait cleanly (it goes before PostgreSQL is back: one projector at a time).
                stack.start("projections-late")
                await wait_until(lambda: "waiting for PostgreSQL" in stack.log_tail("projections-late", 50),
                                 timeout=30, what="a projections process started meanwhile waiting for PostgreSQL")
                assert_alive(stack)
                assert await asyncio.to_thread(stack.stop, "projections-late") == 0
                # So does a gateway: it serves once PostgreSQL is back.
                late_gateway = f"http://127.0.0.1:{(late_port := free_port())}"
                stack.start("gateway-late", env={"HIVE_GATEWAY_PORT": str(late_port)})
                await wait_until(lambda: "waiting for PostgreSQL" in stack.log_tail("gateway-late", 50),
                                 timeout=30, what="a gateway started meanwhile waiting for PostgreSQL")
                probe.phase = "restarting"
                server.start()
                probe.phase, restarted = "after", time.monotonic()
                await wait_until(lambda: all_done(own, ids), timeout=60, interval=0.1, what="read model caught up")
                caught_up = time.monotonic()
                await wait_until(lambda: _ready(late_gateway), timeout=60, what="the late gateway ready")
                await wait_until(lambda: probe.count("after", 200) >= 10, timeout=30, what="reads after the restart")
            assert (await client.get("/ready")).status_code == 200
            assert_alive(stack)
        print(f"\nPostgreSQL down {restarted - down_since:.1f} s; every task projected {caught_up - restarted:.2f} s "
              f"after it was up again; answers {dict(probe.answers)}; first 200 after "
              f"{probe.first_ok['after'] - restarted:.2f} s; {len(watch.seen)} checkpoint reads, "
              f"{len(mirror.seen)} mirrored checkpoints")
        assert probe.bad == [] and probe.statuses("down") == {503}, (probe.bad, probe.answers)
        assert watch.backwards() == [] and mirror.backwards() == [], (watch.backwards(), mirror.backwards())
        assert await completed_outputs(own, ids) == prompts
        assert await read_model_vs_log(own, store, ids) == []
    finally:
        await nc.close()
