"""An in-process executor whose tasks finish only when a test releases them; it counts concurrency."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from agent_sidecar.executors.base import ExecutionResult
from core.messages import Dispatch


class GatedExecutor:
    name = "gated"

    def __init__(self) -> None:
        self.running: set[str] = set()
        self.peak = 0
        self.started: list[str] = []
        self.cancelled: list[str] = []
        self._gates: dict[str, asyncio.Event] = {}

    def gate(self, task_id: str) -> asyncio.Event:
        return self._gates.setdefault(task_id, asyncio.Event())

    def release(self, task_id: str) -> None:
        self.gate(task_id).set()

    def release_all(self) -> None:
        for task_id in list(self.running) + list(self._gates):
            self.gate(task_id).set()

    async def run(self, job: Dispatch, on_chunk: Callable[[str], Awaitable[None]] | None) -> ExecutionResult:
        self.running.add(job.task_id)
        self.started.append(job.task_id)
        self.peak = max(self.peak, len(self.running))
        try:
            await self.gate(job.task_id).wait()
            return ExecutionResult.success(f"done {job.task_id}: {job.prompt}", metrics={"tokens_per_s": 50.0})
        except asyncio.CancelledError:
            self.cancelled.append(job.task_id)
            raise
        finally:
            self.running.discard(job.task_id)
