"""The coordinator against a real nats-server: queue, place, dispatch, and turn reports into events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from nats.js.api import ConsumerConfig

from core.coordinator.service import Coordinator
from core.events import new_envelope
from core.events.task import TaskCancelRequested, TaskCreated, TaskResult
from core.ids import uuid7
from core.messages import (CancelTask, Completed, Deregistered, Dispatch, DrainAgent, Failed, Registered, Started,
                           control_decoder)
from core.settings import Settings
from core.store.connect import connect
from core.store.event_store import EventStore
from tests.helpers import wait_until

enc = msgspec.json.Encoder()


class Harness:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def __aenter__(self) -> Harness:
        self.nc, self.js = await connect(self.settings, "test")
        self.store = EventStore(self.nc, self.js, self.settings)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.nc.close()

    async def create_task(self, **spec: object) -> str:
        task_id = uuid7()
        env = new_envelope(TaskCreated(title="t", **spec), event_id=uuid7(), aggregate_id=task_id,  # type: ignore[arg-type]
                           occurred_at=datetime.now(UTC), actor="tester")
        await self.store.append([env], 0)
        return task_id

    async def report(self, report: object) -> None:
        kind = type(report).__name__.lower()
        await self.js.publish(self.settings.report_subject(report.agent_id, kind), enc.encode(report))  # type: ignore[attr-defined]

    async def register(self, agent_id: str, caps: dict[str, float], slots: int = 2) -> None:
        await self.report(Registered(agent_id=agent_id, sent_at=datetime.now(UTC), name=agent_id, session_id=uuid7(),
                                     capabilities=caps, max_concurrency=slots))

    async def types(self, task_id: str) -> list[str]:
        return [r.envelope.type for r in await self.store.load("task", task_id)]

    async def dispatches(self, agent_id: str) -> AsyncIterator[Dispatch]:
        psub = await self.js.pull_subscribe(self.settings.dispatch_subject(agent_id), durable=f"agent-{agent_id}",
                                            stream=self.settings.dispatch_stream, config=ConsumerConfig(ack_wait=30))
        while True:
            for msg in await psub.fetch(1, timeout=10):
                await msg.ack()
                yield msg_decode(msg.data)


def msg_decode(data: bytes) -> Dispatch:
    return msgspec.json.decode(data, type=Dispatch)


@pytest.fixture
async def coordinator(settings: Settings) -> AsyncIterator[Coordinator]:
    nc, js = await connect(settings, "coordinator")
    c = Coordinator(settings, nc, js)
    await c.start()
    yield c
    await c.stop()
    await nc.close()


async def test_task_is_queued_placed_dispatched_and_completed(settings: Settings, coordinator: Coordinator) -> None:
    async with Harness(settings) as h:
        await h.register("gpu-a", {"echo": 1.0})
        await wait_until(lambda: "gpu-a" in coordinator.fleet.agents, what="agent registered")
        task_id = await h.create_task(prompt="hello", capabilities=["echo"])
        job = await anext(h.dispatches("gpu-a"))
        assert (job.task_id, job.attempt, job.prompt) == (task_id, 1, "hello")
        now = datetime.now(UTC)
        await h.report(Started(agent_id="gpu-a", sent_at=now, task_id=task_id, attempt=1))
        await h.report(Completed(agent_id="gpu-a", sent_at=now, task_id=task_id, attempt=1,
                                 result=TaskResult(output="hello", exit_code=0)))
        want = ["task.created.v1", "task.queued.v1", "task.assigned.v1", "task.started.v1", "task.completed.v1"]
        await wait_until(lambda: h.types(task_id), what="history")
        await wait_until(lambda: _eq(h.types(task_id), want), what="full lifecycle in the log")
        # A redelivered completion is an echo: nothing more is recorded.
        await h.report(Completed(agent_id="gpu-a", sent_at=now, task_id=task_id, attempt=1,
                                 result=TaskResult(output="again")))
        marker = await h.create_task(capabilities=["nothing-has-this"])
        await wait_until(lambda: _eq(h.types(marker), ["task.created.v1", "task.queued.v1"]), what="marker queued")
        assert await h.types(task_id) == want


async def test_only_capable_agent_with_free_slot_is_chosen(settings: Settings, coordinator: Coordinator) -> None:
    async with Harness(settings) as h:
        await h.register("cpu-only", {"shell": 1.0}, slots=1)
        await h.register("gpu-b", {"echo": 0.9}, slots=1)
        await wait_until(lambda: len(coordinator.fleet.agents) == 2, what="agents")
        first = await h.create_task(capabilities=["echo"])
        second = await h.create_task(capabilities=["echo"])
        job = await anext(h.dispatches("gpu-b"))
        assert job.task_id == first
        # gpu-b has one slot: the second task waits in the coordinator's queue, not on the agent.
        await wait_until(lambda: _eq(h.types(second), ["task.created.v1", "task.queued.v1"]), what="second queued")
        await h.report(Failed(agent_id="gpu-b", sent_at=datetime.now(UTC), task_id=first, attempt=1, error="boom"))
        await wait_until(lambda: _contains(h.types(second), "task.assigned.v1"), what="second placed after slot frees")
        assert (await h.store.load("task", second))[-1].envelope.data.agent_id == "gpu-b"


async def test_report_from_wrong_attempt_is_rejected_and_recorded(settings: Settings, coordinator: Coordinator) -> None:
    async with Harness(settings) as h:
        await h.register("gpu-c", {"echo": 1.0})
        task_id = await h.create_task(capabilities=["echo"])
        await anext(h.dispatches("gpu-c"))
        await h.report(Completed(agent_id="gpu-c", sent_at=datetime.now(UTC), task_id=task_id, attempt=7,
                                 result=TaskResult(output="late")))
        await wait_until(lambda: _contains(h.types(task_id), "task.report_rejected.v1"), what="rejection recorded")
        assert "task.completed.v1" not in await h.types(task_id)


async def test_dependencies_wait_and_failed_dependency_fails_dependent(settings: Settings, coordinator: Coordinator) -> None:
    async with Harness(settings) as h:
        await h.register("gpu-d", {"echo": 1.0}, slots=4)
        parent = await h.create_task(capabilities=["echo"])
        child = await h.create_task(capabilities=["echo"], depends_on=[parent])
        jobs = h.dispatches("gpu-d")
        assert (await anext(jobs)).task_id == parent
        assert await h.types(child) == ["task.created.v1"]
        await h.report(Failed(agent_id="gpu-d", sent_at=datetime.now(UTC), task_id=parent, attempt=1, error="x"))
        await wait_until(lambda: _contains(h.types(child), "task.failed.v1"), what="dependent failed")
        failed = (await h.store.load("task", child))[-1].envelope.data
        assert failed.reason == "dependency_failed"


async def test_restarted_coordinator_rebuilds_state_and_redispatches(settings: Settings) -> None:
    async with Harness(settings) as h:
        nc, js = await connect(settings, "c1")
        first = Coordinator(settings, nc, js)
        await first.start()
        await h.register("gpu-e", {"echo": 1.0}, slots=1)
        busy = await h.create_task(capabilities=["echo"])
        waiting = await h.create_task(capabilities=["echo"])
        await wait_until(lambda: _contains(h.types(busy), "task.assigned.v1"), what="assigned")
        await wait_until(lambda: _contains(h.types(waiting), "task.queued.v1"), what="queued")
        await first.stop()
        await nc.close()
        nc, js = await connect(settings, "c2")
        second = Coordinator(settings, nc, js)
        await second.start()
        try:
            assert second.fleet.tasks[busy].task.status == "assigned"
            assert second.fleet.agents["gpu-e"].candidate.in_flight == 1
            await h.report(Completed(agent_id="gpu-e", sent_at=datetime.now(UTC), task_id=busy, attempt=1,
                                     result=TaskResult()))
            await wait_until(lambda: _contains(h.types(waiting), "task.assigned.v1"), what="next placed")
        finally:
            await second.stop()
            await nc.close()


async def _eq(coro: object, want: list[str]) -> bool:
    return await coro == want  # type: ignore[misc]


async def _contains(coro: object, item: str) -> bool:
    return item in await coro  # type: ignore[misc]


async def test_a_cancel_is_ordered_until_the_agent_reports_and_ends_cancelled(settings: Settings,
                                                                              coordinator: Coordinator) -> None:
    async with Harness(settings) as h:
        orders: asyncio.Queue[CancelTask | DrainAgent] = asyncio.Queue()

        async def on_order(msg: Any) -> None:
            await orders.put(control_decoder.decode(msg.data))

        await h.nc.subscribe(settings.control_subject("gpu-f"), cb=on_order)
        await h.register("gpu-f", {"echo": 1.0})
        task_id = await h.create_task(capabilities=["echo"])
        await anext(h.dispatches("gpu-f"))
        history = await h.store.load("task", task_id)
        await h.store.append([new_envelope(TaskCancelRequested(), event_id=uuid7(), aggregate_id=task_id,
                                           occurred_at=datetime.now(UTC), actor="tester")], history[-1].seq)
        # Core NATS may lose one: the order comes again until the log shows the task ended.
        for _ in range(2):
            assert await asyncio.wait_for(orders.get(), 30) == CancelTask(task_id=task_id, attempt=1)
        await h.report(Failed(agent_id="gpu-f", sent_at=datetime.now(UTC), task_id=task_id, attempt=1,
                              error="stopped on agent gpu-f", retryable=True))
        await wait_until(lambda: _contains(h.types(task_id), "task.cancelled.v1"), what="cancelled")
        assert "task.failed.v1" not in await h.types(task_id)
        assert coordinator.fleet.agents["gpu-f"].candidate.in_flight == 0


async def test_work_an_agent_never_started_is_handed_back_when_it_deregisters(settings: Settings,
                                                                             coordinator: Coordinator) -> None:
    async with Harness(settings) as h:
        session = uuid7()
        await h.report(Registered(agent_id="gpu-g", sent_at=datetime.now(UTC), name="g", session_id=session,
                                  capabilities={"echo": 1.0}, max_concurrency=1))
        task_id = await h.create_task(capabilities=["echo"])
        await wait_until(lambda: _contains(h.types(task_id), "task.assigned.v1"), what="assigned to gpu-g")
        await h.report(Deregistered(agent_id="gpu-g", sent_at=datetime.now(UTC), session_id=session))
        await h.register("gpu-h", {"echo": 1.0})
        job = await anext(h.dispatches("gpu-h"))
        assert (job.task_id, job.attempt) == (task_id, 2)
        assert await h.types(task_id) == ["task.created.v1", "task.queued.v1", "task.assigned.v1", "task.queued.v1",
                                          "task.assigned.v1"]
