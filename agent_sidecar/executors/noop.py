"""The `noop` executor: returns the prompt at once. Measures Hive's own overhead, runs nothing."""

from __future__ import annotations

from agent_sidecar.config import NoopExecutorConfig
from agent_sidecar.executors.base import ExecutionResult, OnChunk
from core.messages import Dispatch


class NoopExecutor:
    name = "noop"

    def __init__(self, config: NoopExecutorConfig) -> None:
        self._config = config

    async def run(self, job: Dispatch, on_chunk: OnChunk | None) -> ExecutionResult:
        return ExecutionResult.success(job.prompt, exit_code=0)
