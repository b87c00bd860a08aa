"""Tracks decisions appended but not yet folded back from the log, so nothing is decided twice."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from core.events.envelope import Envelope


class Decision:
    __slots__ = ("event_ids", "waiters", "on_settled")

    def __init__(self, event_ids: set[str], on_settled: Callable[[], None] | None) -> None:
        self.event_ids = event_ids
        # Futures only for those who wait: most decisions settle unobserved, and an Event each is not free.
        self.waiters: list[asyncio.Future[None]] = []
        self.on_settled = on_settled


class Decisions:
    """One open decision per aggregate at a time; the aggregate is 'locked' until its events are folded."""

    def __init__(self) -> None:
        self._open: dict[str, Decision] = {}

    def is_open(self, aggregate_id: str) -> bool:
        return aggregate_id in self._open

    def begin(self, aggregate_id: str, envelopes: list[Envelope[Any]], on_settled: Callable[[], None] | None = None) -> None:
        assert aggregate_id not in self._open, f"decision already open for {aggregate_id}"
        self._open[aggregate_id] = Decision({e.event_id for e in envelopes}, on_settled)

    def seen(self, envelope: Envelope[Any]) -> None:
        """Called by the fold for every event; settles the decision once all its events are back."""
        decision = self._open.get(envelope.aggregate_id)
        if decision is None:
            return
        decision.event_ids.discard(envelope.event_id)
        if not decision.event_ids:
            self._settle(envelope.aggregate_id)

    def abandon(self, aggregate_id: str) -> None:
        """The append failed: nothing will come back, unlock now."""
        if aggregate_id in self._open:
            self._settle(aggregate_id)

    def _settle(self, aggregate_id: str) -> None:
        decision = self._open.pop(aggregate_id)
        if decision.on_settled is not None:
            decision.on_settled()
        for waiter in decision.waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def settled(self, aggregate_id: str) -> None:
        while (decision := self._open.get(aggregate_id)) is not None:
            waiter = asyncio.get_running_loop().create_future()
            decision.waiters.append(waiter)
            await waiter
