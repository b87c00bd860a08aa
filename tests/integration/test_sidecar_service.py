"""The sidecar against a real nats-server: registration, heartbeats, dispatch, concurrency, drain."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar, cast

import pytest
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from agent_sidecar.config import SidecarConfig, default_dev_config, parse_config
from agent_sidecar.consumer import durable_name
from agent_sidecar.executors import Executor
from agent_sidecar.service import Sidecar, run_sidecar
from core.messages import (
    AnyReport,
    Completed,
    Deregistered,
    Dispatch,
    Failed,
    Heartbeat,
    Registered,
    Started,
    dispatch_encoder,
    heartbeat_decoder,
)
from core.settings import Settings
from core.store.connect import connect
from tests.fakes.gated_executor import GatedExecutor
from tests.fakes.reports import ReportReader
from tests.helpers import wait_until

MakeSidecar = Callable[..., Sidecar]
T = TypeVar("T")


async def eventually(probe: Callable[[], Awaitable[T | None]], what: str) -> T:
    """wait_until for an async probe, typed: the first truthy value it returns."""
    return cast(T, await wait_until(probe, what=what))


@pytest.fixture
async def nats(settings: Settings) -> AsyncIterator[tuple[NATS, JetStreamContext]]:
    nc, js = await connect(settings, "test-client")
    yield nc, js
    await nc.close()


@pytest.fixture
def reader(nats: tuple[NATS, JetStreamContext], settings: Settings) -> ReportReader:
    return ReportReader(nats[1], settings)


@pytest.fixture
async def make_sidecar(settings: Settings) -> AsyncIterator[MakeSidecar]:
    made: list[Sidecar] = []

    def make(config: SidecarConfig | None = None, executor: Executor | None = None, **options: Any) -> Sidecar:
        # Separate start reports unless a test asks otherwise (the production default folds short tasks' in).
        options.setdefault("start_report_delay_s", 0.0)
        sidecar = Sidecar(settings, config or dev_config(), executor=executor, **options)
        made.append(sidecar)
        return sidecar

    yield make
    for sidecar in made:
        await sidecar.drain(grace_s=0)


def dev_config(**overrides: Any) -> SidecarConfig:
    base = default_dev_config(f"agent-{uuid.uuid4().hex[:8]}")
    raw: dict[str, Any] = {
        "agent_id": base.agent_id, "name": base.name, "max_concurrency": base.max_concurrency,
        "capabilities": dict(base.capabilities), "executor": {"type": "command", "argv": ["cat"]},
    }
    raw.update(overrides)
    return parse_config(raw)


async def dispatch(js: JetStreamContext, settings: Settings, agent_id: str, task_id: str, **fields: Any) -> None:
    job = Dispatch(task_id=task_id, attempt=fields.pop("attempt", 1), title=f"task {task_id}", **fields)
    await js.publish(settings.dispatch_subject(agent_id), dispatch_encoder.encode(job),
                     headers={"Nats-Msg-Id": f"{task_id}:{job.attempt}:dispatch"})


def kinds_for(reports: list[AnyReport], task_id: str) -> list[str]:
    return [type(r).__struct_config__.tag for r in reports if getattr(r, "task_id", None) == task_id]  # type: ignore[misc]


async def final_for(reader: ReportReader, task_id: str) -> Completed | Failed:
    async def find() -> Completed | Failed | None:
        for report in await reader.poll():
            if isinstance(report, Completed | Failed) and report.task_id == task_id:
                return report
        return None

    return await eventually(find, what=f"a final report for {task_id}")


async def test_registers_heartbeats_and_deregisters(
    settings: Settings, nats: tuple[NATS, JetStreamContext], reader: ReportReader, make_sidecar: MakeSidecar
) -> None:
    sidecar = make_sidecar()
    await sidecar.start()
    registered = await eventually(lambda: _first(reader, Registered), what="a Registered report")
    assert registered.agent_id == sidecar.agent_id and registered.session_id == sidecar.session_id
    assert registered.capabilities == {"echo": 1.0} and registered.max_concurrency == 4
    assert registered.executor == "command"
    assert registered.hardware.cpu_count > 0 and registered.hardware.memory_total_mb > 0
    index = reader.reports.index(registered)
    assert reader.subjects[index] == settings.report_subject(sidecar.agent_id, "registered")
    assert reader.msg_ids[index] == f"{sidecar.session_id}:registered"

    kv = await nats[1].key_value(settings.heartbeat_bucket)
    entry = await kv.get(sidecar.agent_id)
    assert entry.value is not None
    beat = heartbeat_decoder.decode(entry.value)
    assert isinstance(beat, Heartbeat)
    assert (beat.agent_id, beat.session_id, beat.max_concurrency, beat.draining) == (
        sidecar.agent_id, sidecar.session_id, 4, False
    )
    # The loop keeps beating: a later revision replaces the first.
    await eventually(lambda: _newer(kv, sidecar.agent_id, entry.revision), what="a second heartbeat")

    await sidecar.drain()
    gone = await eventually(lambda: _first(reader, Deregistered), what="a Deregistered report")
    assert gone.session_id == sidecar.session_id
    final_beat = heartbeat_decoder.decode((await kv.get(sidecar.agent_id)).value or b"")
    assert final_beat.draining


async def test_a_short_task_sends_one_report_that_says_when_it_started(
    settings: Settings, nats: tuple[NATS, JetStreamContext], reader: ReportReader, make_sidecar: MakeSidecar
) -> None:
    gated = GatedExecutor()
    sidecar = make_sidecar(executor=gated, start_report_delay_s=60.0)
    await sidecar.start()
    await dispatch(nats[1], settings, sidecar.agent_id, "quick", prompt="x")
    await wait_until(lambda: gated.running, what="the task to start")
    gated.release("quick")
    final = await final_for(reader, "quick")
    assert isinstance(final, Completed) and final.started_at is not None and final.started_at <= final.sent_at
    assert kinds_for(reader.reports, "quick") == ["completed"]


async def test_a_long_task_reports_its_start_while_running(
    settings: Settings, nats: tuple[NATS, JetStreamContext], reader: ReportReader, make_sidecar: MakeSidecar
) -> None:
    gated = GatedExecutor()
    sidecar = make_sidecar(executor=gated, start_report_delay_s=0.01)
    await sidecar.start()
    await dispatch(nats[1], settings, sidecar.agent_id, "slow", prompt="x")
    await eventually(lambda: _first_kind(reader, "slow", "started"), what="a start report while it runs")
    gated.release("slow")
    final = await final_for(reader, "slow")
    assert isinstance(final, Completed) and final.started_at is None
    assert kinds_for(reader.reports, "slow") == ["started", "completed"]


async def _first_kind(reader: ReportReader, task_id: str, kind: str) -> bool | None:
    await reader.poll()
    return kind in kinds_for(reader.reports, task_id) or None


async def test_a_dispatch_redelivered_after_it_finished_is_acked_not_run_again(
    settings: Settings, nats: tuple[NATS, JetStreamContext], reader: ReportReader, make_sidecar: MakeSidecar
) -> None:
    gated = GatedExecutor()
    sidecar = make_sidecar(executor=gated)
    await sidecar.start()
    await dispatch(nats[1], settings, sidecar.agent_id, "once", prompt="x")
    await wait_until(lambda: gated.running, what="the task to start")
    gated.release("once")
    await final_for(reader, "once")
    # The same (task, attempt) again, as JetStream would redeliver it had the ack been lost.
    job = Dispatch(task_id="once", attempt=1, title="task once", prompt="x")
    await nats[1].publish(settings.dispatch_subject(sidecar.agent_id), dispatch_encoder.encode(job),
                          headers={"Nats-Msg-Id": "once:1:redelivered"})

    async def drained() -> bool:
        info = await nats[1].consumer_info(settings.dispatch_stream, durable_name(sidecar.agent_id))
        return info.num_ack_pending == 0 and info.num_pending == 0 and info.delivered.consumer_seq == 2

    await wait_until(drained, what="the repeat acked")
    assert gated.started == ["once"]


async def test_runs_dispatches_and_reports_in_order(
    settings: Settings, nats: tuple[NATS, JetStreamContext], reader: ReportReader, make_sidecar: MakeSidecar
) -> None:
    sidecar = make_sidecar()
    await sidecar.start()
    prompts = {f"task-{n}": f"prompt number {n}; $(rm -rf /) `id`" for n in range(3)}
    for task_id, prompt in prompts.items():
        await dispatch(nats[1], settings, sidecar.agent_id, task_id, prompt=prompt)
    for task_id, prompt in prompts.items():
        final = await final_for(reader, task_id)
        assert isinstance(final, Completed)
        assert final.result.output == prompt and final.result.exit_code == 0
        assert kinds_for(reader.reports, task_id) == ["started", "completed"]
        assert reader.msg_ids[reader.reports.index(final)] == f"{task_id}:1:completed"
    # Acked only after the final report: the work-queue stream is now empty.
    info = await nats[1].consumer_info(settings.dispatch_stream, durable_name(sidecar.agent_id))
    assert info.num_ack_pending == 0 and info.num_pending == 0


async def test_never_runs_more_than_max_concurrency(
    settings: Settings, nats: tuple[NATS, JetStreamContext], reader: ReportReader, make_sidecar: MakeSidecar
) -> None:
    gated = GatedExecutor()
    sidecar = make_sidecar(dev_config(max_concurrency=2), executor=gated)
    await sidecar.start()
    task_ids = [f"t{n}" for n in range(5)]
    for task_id in task_ids:
        await dispatch(nats[1], settings, sidecar.agent_id, task_id, prompt=task_id)
    await wait_until(lambda: len(gated.running) == 2, what="two tasks running")
    info = await nats[1].consumer_info(settings.dispatch_stream, durable_name(sidecar.agent_id))
    # The other three were never handed to us: they wait on the server.
    assert info.num_ack_pending == 2 and info.num_pending == 3
    for _ in task_ids:
        running = await wait_until(lambda: sorted(gated.running), what="a running task")
        gated.release(running[0])
        await final_for(reader, running[0])
    assert sorted(gated.started) == task_ids and gated.peak == 2 and sidecar.peak_in_flight == 2
    # In stream order too, never more than two Started without their final report.
    open_tasks: set[str] = set()
    for report in reader.reports:
        if isinstance(report, Started):
            open_tasks.add(report.task_id)
            assert len(open_tasks) <= 2
        elif isinstance(report, Completed | Failed):
            open_tasks.discard(report.task_id)
    heartbeat_rate = sidecar.heartbeat().tokens_per_s
    assert heartbeat_rate == 50.0


async def test_malformed_dispatch_is_terminated_and_the_loop_goes_on(
    settings: Settings, nats: tuple[NATS, JetStreamContext], reader: ReportReader, make_sidecar: MakeSidecar
) -> None:
    sidecar = make_sidecar()
    await sidecar.start()
    subject = settings.dispatch_subject(sidecar.agent_id)
    await nats[1].publish(subject, b"not json at all")
    await nats[1].publish(subject, b'{"task_id": 7, "attempt": "one"}')
    await dispatch(nats[1], settings, sidecar.agent_id, "good", prompt="still alive")
    final = await final_for(reader, "good")
    assert isinstance(final, Completed) and final.result.output == "still alive"

    async def settled() -> bool:
        info = await nats[1].consumer_info(settings.dispatch_stream, durable_name(sidecar.agent_id))
        return info.num_ack_pending == 0 and info.num_pending == 0

    await eventually(settled, what="the malformed messages to be terminated")


async def test_failures_and_timeouts_are_reported(
    settings: Settings, nats: tuple[NATS, JetStreamContext], reader: ReportReader, make_sidecar: MakeSidecar
) -> None:
    config = dev_config(executor={"type": "command", "argv": ["sh", "-c", "{prompt}"], "stdin": "none"})
    sidecar = make_sidecar(config)
    await sidecar.start()
    await dispatch(nats[1], settings, sidecar.agent_id, "exits", prompt="echo out; exit 4")
    await dispatch(nats[1], settings, sidecar.agent_id, "hangs", prompt="sleep 60", timeout_s=0.3)
    exits = await final_for(reader, "exits")
    assert isinstance(exits, Failed) and exits.exit_code == 4 and exits.output == "out\n" and not exits.retryable
    hangs = await final_for(reader, "hangs")
    assert isinstance(hangs, Failed) and hangs.retryable and hangs.error.startswith("timeout")
    assert kinds_for(reader.reports, "hangs") == ["started", "failed"]


async def test_drain_waits_for_in_flight_then_deregisters(
    settings: Settings, nats: tuple[NATS, JetStreamContext], reader: ReportReader, make_sidecar: MakeSidecar
) -> None:
    gated = GatedExecutor()
    sidecar = make_sidecar(executor=gated)
    await sidecar.start()
    await dispatch(nats[1], settings, sidecar.agent_id, "busy", prompt="x")
    await wait_until(lambda: gated.running, what="the task to start")
    draining = asyncio.create_task(sidecar.drain(grace_s=60))
    await wait_until(lambda: sidecar.draining, what="draining")
    # Work sent while draining is not taken.
    await dispatch(nats[1], settings, sidecar.agent_id, "late", prompt="y")
    gated.release("busy")
    await draining
    reports = await reader.poll()
    kinds = [type(r).__struct_config__.tag for r in reports]
    assert kinds == ["registered", "started", "completed", "deregistered"]
    assert "late" not in gated.started


async def test_drain_past_grace_aborts_with_a_retryable_failure(
    settings: Settings, nats: tuple[NATS, JetStreamContext], reader: ReportReader, make_sidecar: MakeSidecar
) -> None:
    gated = GatedExecutor()
    sidecar = make_sidecar(executor=gated)
    await sidecar.start()
    await dispatch(nats[1], settings, sidecar.agent_id, "stuck", prompt="x")
    await wait_until(lambda: gated.running, what="the task to start")
    await sidecar.drain(grace_s=0)
    assert gated.cancelled == ["stuck"]
    final = await final_for(reader, "stuck")
    assert isinstance(final, Failed) and final.retryable and "grace period" in final.error
    assert isinstance(reader.reports[-1], Deregistered)
    info = await nats[1].consumer_info(settings.dispatch_stream, durable_name(sidecar.agent_id))
    assert info.num_ack_pending == 0


async def test_unacked_dispatch_is_redelivered_after_a_crash(
    settings: Settings, nats: tuple[NATS, JetStreamContext], reader: ReportReader, make_sidecar: MakeSidecar
) -> None:
    config = dev_config()
    first = GatedExecutor()
    crashed = make_sidecar(config, executor=first, ack_wait_s=1.0)
    await crashed.start()
    await dispatch(nats[1], settings, config.agent_id, "survivor", prompt="again")
    await wait_until(lambda: first.running, what="the task to start")
    await _crash(crashed)

    second = GatedExecutor()
    second.release("survivor")
    restarted = make_sidecar(config, executor=second, ack_wait_s=1.0)
    await restarted.start()
    final = await final_for(reader, "survivor")
    assert isinstance(final, Completed) and final.result.output == "done survivor: again"
    assert restarted.session_id != crashed.session_id


async def test_run_sidecar_entry_point(settings: Settings, reader: ReportReader, tmp_path: Path) -> None:
    path = tmp_path / "sidecar.toml"
    path.write_text('agent_id = "cli-agent"\n[capabilities]\necho = 1.0\n[executor]\ntype = "command"\nargv = ["cat"]\n')
    stop = asyncio.Event()
    service = asyncio.create_task(run_sidecar(settings, path, stop))
    await eventually(lambda: _first(reader, Registered), what="a Registered report")
    stop.set()
    await service
    await eventually(lambda: _first(reader, Deregistered), what="a Deregistered report")


async def _first(reader: ReportReader, kind: type[T]) -> T | None:
    return next((r for r in await reader.poll() if isinstance(r, kind)), None)


async def _newer(kv: Any, key: str, revision: int | None) -> bool:
    return bool((await kv.get(key)).revision != revision)


async def _crash(sidecar: Sidecar) -> None:
    """Like kill -9: the connection drops with the dispatch unacked and nothing more is said."""
    nc = sidecar._nc
    assert nc is not None
    for task in list(sidecar._background) + [task for _run, task in sidecar._runs.values()]:
        task.cancel()
    await nc.close()
    sidecar._nc = None
