"""Appends the coordinator's decisions and publishes dispatch messages, retrying only transient errors."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import nats.errors
from nats.js import JetStreamContext

from core.coordinator.decisions import Decisions
from core.errors import ConcurrencyError
from core.events.envelope import EventData, new_envelope
from core.ids import uuid7
from core.messages import Dispatch, dispatch_encoder
from core.settings import Settings
from core.store.event_store import EventStore

log = logging.getLogger(__name__)

ACTOR = "coordinator"
TRANSIENT = (nats.errors.TimeoutError, nats.errors.ConnectionClosedError, nats.errors.NoRespondersError,
             asyncio.TimeoutError)
RETRIES = 20


class Writer:
    def __init__(self, store: EventStore, js: JetStreamContext, settings: Settings, decisions: Decisions) -> None:
        self._store = store
        self._js = js
        self._settings = settings
        self._decisions = decisions

    async def decide(
        self,
        aggregate_id: str,
        events: Sequence[EventData],
        expected_seq: int,
        *,
        causation_id: str | None = None,
        correlation_id: str | None = None,
        on_settled: Callable[[], None] | None = None,
    ) -> bool:
        """Append one decision; False if another writer got there first (the fold will show what happened)."""
        if not events:
            return True
        now = datetime.now(UTC)
        envelopes = [
            new_envelope(e, event_id=uuid7(), aggregate_id=aggregate_id, occurred_at=now, actor=ACTOR,
                         correlation_id=correlation_id, causation_id=causation_id)
            for e in events
        ]
        self._decisions.begin(aggregate_id, envelopes, on_settled)
        try:
            await self._append_retrying(envelopes, expected_seq)
            return True
        except ConcurrencyError as err:
            log.info("decision on %s lost a race (%s); will decide again from the log", aggregate_id, err)
            self._decisions.abandon(aggregate_id)
            return False
        except BaseException:
            self._decisions.abandon(aggregate_id)
            raise

    async def _append_retrying(self, envelopes: list[Any], expected_seq: int) -> int:
        delay = 0.05
        for attempt in range(RETRIES):
            try:
                # Same envelopes (same ids) on every try: Nats-Msg-Id makes a retried append a no-op.
                return await self._store.append(envelopes, expected_seq)
            except TRANSIENT as err:
                if attempt == RETRIES - 1:
                    raise
                log.warning("append failed (%s), retrying in %.2fs", err, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
        raise AssertionError("unreachable")

    async def dispatch(self, agent_id: str, job: Dispatch) -> None:
        """Send an assignment to its agent; the msg id makes a re-dispatch after a restart a no-op."""
        subject = self._settings.dispatch_subject(agent_id)
        headers = {"Nats-Msg-Id": f"{job.task_id}:{job.attempt}"}
        payload = dispatch_encoder.encode(job)
        delay = 0.05
        while True:
            try:
                await self._js.publish(subject, payload, headers=headers)
                return
            except TRANSIENT as err:
                log.warning("dispatch of %s to %s failed (%s), retrying", job.task_id, agent_id, err)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
