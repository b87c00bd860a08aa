"""One dispatched task: Started, execute (with keep-alive and timeout), final report, then ack."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from collections.abc import Callable

from typing import Protocol

from agent_sidecar.executors.base import ExecutionResult, Executor, OnChunk
from agent_sidecar.reports import ReportPublisher, task_msg_id, utcnow
from core.events.task import TaskResult
from core.messages import Completed, Dispatch, Failed, Started
from core.runtime import cancel_and_wait


class Settleable(Protocol):
    """A delivered dispatch (the pull reader's Delivery, or nats-py's Msg)."""

    async def ack(self) -> None: ...

    async def in_progress(self) -> None: ...

log = logging.getLogger(__name__)

# Tasks shorter than this send one report (final, with the start time) instead of two.
START_REPORT_DELAY_S = 0.05


class TaskRun:
    """Owns one dispatch message until it is acked; `abort()` stops the executor and reports a retryable failure.

    The sidecar's keep-alive loop calls `keep_alive()` on every run, so a long task is not redelivered."""

    def __init__(
        self,
        msg: Settleable,
        job: Dispatch,
        *,
        agent_id: str,
        executor: Executor,
        reports: ReportPublisher,
        start_report_delay_s: float = START_REPORT_DELAY_S,
        on_chunk: OnChunk | None = None,
        on_result: Callable[[ExecutionResult], None] | None = None,
    ) -> None:
        self.msg = msg
        self.job = job
        # How the executor's run ended, for the metrics: completed, failed, or not run to an end.
        self.outcome = "aborted"
        self._agent_id = agent_id
        self._executor = executor
        self._reports = reports
        self._start_report_delay_s = start_report_delay_s
        self._on_chunk = on_chunk
        self._on_result = on_result
        self._exec: asyncio.Task[ExecutionResult] | None = None
        self._start_timer: asyncio.TimerHandle | None = None
        self._start_report: asyncio.Task[None] | None = None
        self._abort_reason: str | None = None
        # The execution span's, when tracing: the final report carries it to the coordinator.
        self.traceparent: str | None = None

    @property
    def key(self) -> str:
        return f"{self.job.task_id}:{self.job.attempt}"

    def abort(self, reason: str) -> None:
        """Cancel the executor (e.g. drain grace exceeded, task cancelled); the run still reports and acks."""
        if self._abort_reason is None:
            self._abort_reason = reason
        if self._exec is not None:
            self._exec.cancel()

    async def run(self) -> None:
        job = self.job
        started_at = utcnow()
        # The start report waits START_REPORT_DELAY_S: a task that ends sooner says when it started in its
        # final report instead (one report, not two; the history still records the start). A longer task's
        # start report goes out meanwhile. A start report retried after the final one is harmless: the
        # coordinator ignores a start that the task's state is already past.
        if self._start_report_delay_s <= 0:
            self._send_start_report(started_at)
        self._start_timer = asyncio.get_running_loop().call_later(
            max(self._start_report_delay_s, 0.0), self._send_start_report, started_at)
        try:
            result = await self._execute()
        except BaseException:
            self._start_timer.cancel()
            if self._start_report is not None:
                await cancel_and_wait(self._start_report)
            raise
        self._start_timer.cancel()
        self.outcome = "completed" if result.ok else "failed"
        if self._on_result is not None:
            self._on_result(result)
        final = self._final_report(result, None if self._start_report is not None else started_at)
        kind = "completed" if result.ok else "failed"
        try:
            await self._reports.publish(final, task_msg_id(job.task_id, job.attempt, kind), self.traceparent)
        finally:
            if self._start_report is not None:
                await self._start_report
        # Only now: a crash before this line leaves the dispatch unacked, so it is redelivered, not lost.
        await self._ack()

    def _send_start_report(self, started_at: datetime) -> None:
        job = self.job
        if self._start_report is not None:
            return
        self._start_report = asyncio.create_task(self._reports.publish(
            Started(agent_id=self._agent_id, sent_at=started_at, task_id=job.task_id, attempt=job.attempt),
            task_msg_id(job.task_id, job.attempt, "started"),
        ))

    async def _ack(self) -> None:
        # A plain ack (no round trip): if it is lost with the connection, JetStream redelivers the dispatch
        # and the sidecar, which remembers what it finished, acks it again instead of running it twice.
        await self.msg.ack()

    async def _execute(self) -> ExecutionResult:
        if self._abort_reason is not None:
            return ExecutionResult.failure(self._abort_reason, retryable=True)
        self._exec = asyncio.create_task(self._executor.run(self.job, self._on_chunk))
        timeout = self.job.timeout_s
        try:
            async with asyncio.timeout(timeout):
                return await self._exec
        except TimeoutError:
            return ExecutionResult(ok=False, error=f"timeout: the task ran past its {timeout:g}s limit", retryable=True,
                                   timed_out=True)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if self._abort_reason is None or (current is not None and current.cancelling()):
                raise
            return ExecutionResult.failure(self._abort_reason, retryable=True)
        except Exception as err:
            log.exception("executor %s crashed on task %s", self._executor.name, self.key)
            return ExecutionResult.failure(f"executor {self._executor.name} crashed: {err!r}", retryable=False)

    def _final_report(self, result: ExecutionResult, started_at: datetime | None) -> Completed | Failed:
        job, now = self.job, utcnow()
        if result.ok:
            return Completed(
                agent_id=self._agent_id, sent_at=now, task_id=job.task_id, attempt=job.attempt,
                result=TaskResult(output=result.output, exit_code=result.exit_code, metrics=result.metrics),
                started_at=started_at,
            )
        return Failed(
            agent_id=self._agent_id, sent_at=now, task_id=job.task_id, attempt=job.attempt,
            error=result.error, retryable=result.retryable, exit_code=result.exit_code, output=result.output,
            started_at=started_at, reason="timed_out" if result.timed_out else "executor_error",
        )

    async def keep_alive(self) -> None:
        """Tell JetStream this long, healthy task is still being worked on, so it is not redelivered."""
        try:
            await self.msg.in_progress()
        except Exception as err:
            log.warning("in-progress ack for %s failed: %s", self.key, err)
