"""Appends the coordinator's decisions and publishes dispatch messages, pipelined, retrying only transient errors."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from core.coordinator.decisions import Decisions
from core.errors import ConcurrencyError, HiveError
from core.events.envelope import EventData, new_envelope
from core.ids import uuid7
from core.messages import Dispatch, dispatch_encoder
from core.settings import Settings
from core.store.event_store import EventStore
from core.store.publisher import Publisher
from core.store.transient import TRANSIENT
from core.tracing import TRACEPARENT

log = logging.getLogger(__name__)

ACTOR = "coordinator"
RETRIES = 20


class NotLeader(HiveError):
    """A decision was attempted without a valid lease."""


@dataclass(slots=True)
class Plan:
    """One decision: events for one aggregate, appended only if its last seq is still `expected_seq`."""

    aggregate_id: str
    events: Sequence[EventData]
    expected_seq: int
    correlation_id: str | None = None
    causation_id: str | None = None
    # Runs when the decision's events are folded back (or the append failed): e.g. release a reserved slot.
    on_settled: Callable[[], None] | None = None


class Writer:
    def __init__(self, store: EventStore, publisher: Publisher, settings: Settings, decisions: Decisions,
                 may_write: Callable[[], bool] | None = None) -> None:
        # False once this coordinator may no longer be the leader (its lease went unrenewed for a TTL): a
        # paused leader that wakes up must not append before it notices it was replaced.
        self._may_write = may_write
        self._store = store
        self._publisher = publisher
        self._settings = settings
        self._decisions = decisions

    async def decide(self, plan: Plan) -> bool:
        """Append one decision; False if another writer got there first (the fold will show what happened)."""
        return (await self.decide_many([plan]))[0]

    async def decide_many(self, plans: Sequence[Plan]) -> list[bool]:
        """Append many decisions with their publishes in flight together; per plan, whether it was stored.

        Each aggregate stays locked (see Decisions) until its events come back through the fold.
        """
        if self._may_write is not None and not self._may_write():
            raise NotLeader("this coordinator's lease lapsed: it decides nothing more")
        now = datetime.now(UTC)
        batches: list[tuple[list[Any], int]] = []
        stored = [False] * len(plans)
        todo: list[int] = []
        for i, plan in enumerate(plans):
            envelopes = [
                new_envelope(e, event_id=uuid7(), aggregate_id=plan.aggregate_id, occurred_at=now, actor=ACTOR,
                             correlation_id=plan.correlation_id, causation_id=plan.causation_id)
                for e in plan.events
            ]
            batches.append((envelopes, plan.expected_seq))
            if envelopes:
                self._decisions.begin(plan.aggregate_id, envelopes, plan.on_settled)
                todo.append(i)
            else:  # nothing to append: settled already
                stored[i] = True
                if plan.on_settled is not None:
                    plan.on_settled()
        try:
            await self._append_retrying(plans, batches, todo, stored)
        except BaseException:
            for i in todo:
                if not stored[i]:
                    self._decisions.abandon(plans[i].aggregate_id)
            raise
        return stored

    async def _append_retrying(
        self, plans: Sequence[Plan], batches: list[tuple[list[Any], int]], todo: list[int], stored: list[bool]
    ) -> None:
        delay = 0.05
        for attempt in range(RETRIES):
            # Same envelopes (same ids) on every try: Nats-Msg-Id makes a retried append a no-op.
            results = await self._store.append_many([batches[i] for i in todo])
            retry: list[int] = []
            for i, result in zip(todo, results, strict=True):
                if isinstance(result, int):
                    stored[i] = True
                elif isinstance(result, ConcurrencyError):
                    log.info("decision on %s lost a race (%s); will decide again from the log",
                             plans[i].aggregate_id, result)
                    self._decisions.abandon(plans[i].aggregate_id)
                elif isinstance(result, TRANSIENT) and attempt < RETRIES - 1:
                    retry.append(i)
                else:
                    raise result
            if not retry:
                return
            todo = retry
            log.warning("%d appends failed transiently, retrying in %.2fs", len(todo), delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    async def dispatch(self, agent_id: str, job: Dispatch) -> None:
        await self.dispatch_many([(agent_id, job)])

    async def dispatch_many(self, jobs: Sequence[tuple[str, Dispatch]],
                            traceparents: Mapping[str, str] | None = None) -> None:
        """Send assignments to their agents; the msg id makes a re-dispatch after a restart a no-op.
        `traceparents` (task id -> its placement span, when tracing) go along in the messages' headers."""
        todo = list(jobs)
        delay = 0.05
        while todo:
            sent = []
            for agent_id, job in todo:
                subject = self._settings.dispatch_subject(agent_id)
                headers = {"Nats-Msg-Id": f"{job.task_id}:{job.attempt}"}
                if traceparents and job.task_id in traceparents:
                    headers[TRACEPARENT] = traceparents[job.task_id]
                sent.append(((agent_id, job), await self._publisher.submit(subject, dispatch_encoder.encode(job),
                                                                             headers)))
            retry = []
            for item, future in sent:
                try:
                    await future
                except TRANSIENT as err:
                    log.warning("dispatch of %s to %s failed (%s), retrying", item[1].task_id, item[0], err)
                    retry.append(item)
            todo = retry
            if todo:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
