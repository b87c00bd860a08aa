"""The executor contract: run one dispatched job, cancellably, and say how it went."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

import msgspec

from core.messages import Dispatch

OnChunk = Callable[[str], Awaitable[None]]


class ExecutionResult(msgspec.Struct, frozen=True, kw_only=True):
    """What an executor returns; `ok` false becomes a Failed report, else a Completed one."""

    ok: bool
    output: str = ""
    exit_code: int | None = None
    metrics: dict[str, float] = {}
    error: str = ""
    retryable: bool = False
    # The sidecar stopped the run at the task's timeout.
    timed_out: bool = False

    @classmethod
    def success(cls, output: str, *, exit_code: int | None = None, metrics: dict[str, float] | None = None) -> ExecutionResult:
        return cls(ok=True, output=output, exit_code=exit_code, metrics=metrics or {})

    @classmethod
    def failure(
        cls, error: str, *, retryable: bool, output: str = "", exit_code: int | None = None
    ) -> ExecutionResult:
        return cls(ok=False, error=error, retryable=retryable, output=output, exit_code=exit_code)


class Executor(Protocol):
    """Runs a job to completion. Must be safe to cancel at any await: cancellation stops the work
    (kills processes, closes connections) before the CancelledError propagates."""

    name: str

    async def run(self, job: Dispatch, on_chunk: OnChunk | None) -> ExecutionResult: ...
