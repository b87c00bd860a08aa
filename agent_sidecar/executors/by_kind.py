"""Routes each task to an executor by its payload's `kind`: `http` and `mcp` go to the optional executors the config
gives; no kind, or any other (a workflow's `agent` or `llm` task), goes to the main executor."""

from __future__ import annotations

from collections.abc import Mapping

from agent_sidecar.executors.base import ExecutionResult, Executor, OnChunk
from core.messages import Dispatch

# The kinds that name an optional executor; other kinds are the main executor's business.
OPTIONAL_KINDS = frozenset({"http", "mcp"})


class KindRouter:
    """An executor made of the main one and one per kind; the sidecar sees only this."""

    def __init__(self, main: Executor | None, by_kind: Mapping[str, Executor]) -> None:
        self.main = main
        self.by_kind = dict(by_kind)
        self.name = main.name if main is not None else "+".join(sorted(self.by_kind))

    async def run(self, job: Dispatch, on_chunk: OnChunk | None) -> ExecutionResult:
        kind = job.payload.get("kind")
        if kind not in OPTIONAL_KINDS:
            if self.main is None:
                return ExecutionResult.failure(
                    f"this agent has no main executor, only kinds {self._kinds()}: give the task's payload a `kind`",
                    retryable=False)
            return await self.main.run(job, on_chunk)
        executor = self.by_kind.get(kind)
        if executor is None:
            # Retrying here cannot help; a task meant for such an executor should require its capability.
            return ExecutionResult.failure(
                f"this agent cannot run tasks of kind {kind!r} (it runs {self._kinds()}) - at `$.payload.kind`; "
                f"require the capability named by the kind so the task is placed on an agent that has it",
                retryable=False)
        return await executor.run(job, on_chunk)

    async def probe(self) -> str | None:
        """The main executor's health probe (ollama's), for the heartbeat; None when it has none."""
        probe = getattr(self.main, "probe", None)
        return None if probe is None else await probe()

    @property
    def loaded_models(self) -> list[str]:
        """The main executor's loaded models (ollama's), for the heartbeat."""
        return list(getattr(self.main, "loaded_models", []))

    def _kinds(self) -> str:
        return ", ".join(repr(k) for k in sorted(self.by_kind)) or "none"
