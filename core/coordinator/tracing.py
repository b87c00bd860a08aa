"""The coordinator's part of a task's trace: `placement` (a child of the request that created the task, its
traceparent read off the TaskCreated message's headers) and `completion` (a child of the sidecar's
execution span, read off the report's headers). Built only when tracing is configured."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import msgspec
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from core.events.envelope import Envelope
from core.events.task import TaskCompleted, TaskCreated
from core.messages import Completed, Dispatch, Failed, report_decoder
from core.store.pull_reader import Delivery
from core.tracing import Tracing, traceparent, traceparent_in

# Traceparents of created tasks kept for their placements (a retry is placed again): oldest dropped past this.
MAX_REMEMBERED = 50_000


class CoordinatorTracing:
    def __init__(self, tracing: Tracing) -> None:
        self.tracing = tracing
        self._by_seq: dict[int, str] = {}  # traceparents read off the stream, until their event is folded
        self._by_task: dict[str, str] = {}  # task id -> the traceparent its TaskCreated came with

    def on_headers(self, seq: int, block: bytes) -> None:
        """The fold's reader hands over each event's header block as it arrives."""
        value = traceparent_in(block)
        if value is not None:
            self._by_seq[seq] = value

    def folded(self, seq: int, envelope: Envelope[Any]) -> None:
        by_seq = self._by_seq
        value = by_seq.pop(seq, None)
        # Entries for events a restarted reader read twice, or that were skipped, go with the first later fold.
        while by_seq and next(iter(by_seq)) < seq:
            del by_seq[next(iter(by_seq))]
        if isinstance(envelope.data, TaskCreated) and value is not None:
            self._by_task[envelope.aggregate_id] = value
            if len(self._by_task) > MAX_REMEMBERED:
                del self._by_task[next(iter(self._by_task))]
        elif isinstance(envelope.data, TaskCompleted):
            self._by_task.pop(envelope.aggregate_id, None)

    def placements(self, jobs: Sequence[tuple[str, Dispatch]], planned_ns: int) -> dict[str, Span]:
        """A `placement` span per assignment, begun when the scheduler planned it; ended by `end`."""
        return {job.task_id: self.tracing.start(
            "placement", self._by_task.get(job.task_id), kind=SpanKind.PRODUCER, start_time=planned_ns,
            attributes={"hive.task_id": job.task_id, "hive.agent_id": agent_id, "hive.attempt": job.attempt},
        ) for agent_id, job in jobs}

    async def completions(self, msgs: Sequence[Delivery], handle: Callable[[Any], Awaitable[None]]) -> None:
        """`handle(msgs)` inside a `completion` span per final task report, each a child of the execution
        span named in the report's headers; the spans end once the reports' events are stored."""
        spans: list[Span] = []
        for msg in msgs:
            try:
                report = report_decoder.decode(msg.data)
            except msgspec.ValidationError:
                continue  # the handler logs it
            if isinstance(report, Completed | Failed):
                spans.append(self.tracing.start("completion", traceparent_in(msg.headers), kind=SpanKind.CONSUMER,
                                                attributes={"hive.task_id": report.task_id,
                                                            "hive.agent_id": report.agent_id,
                                                            "hive.attempt": report.attempt,
                                                            "hive.outcome": "completed" if isinstance(report, Completed)
                                                            else "failed"}))
        try:
            await handle(msgs)
        except BaseException as err:
            for span in spans:
                span.record_exception(err)
                span.set_status(Status(StatusCode.ERROR, str(err)))
            raise
        finally:
            for span in spans:
                span.end()


def traceparents(spans: dict[str, Span]) -> dict[str, str]:
    return {task_id: traceparent(span) for task_id, span in spans.items()}


def end(spans: dict[str, Span]) -> None:
    for span in spans.values():
        span.end()


def now_ns() -> int:
    return time.time_ns()
