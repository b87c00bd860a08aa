"""Folds the reader's messages into batches ahead of the writer, so decoding overlaps PostgreSQL's work."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Protocol

from projections.rows import BatchChanges, fold_into

# Messages folded between yields to the event loop: small enough that the writer's next statement
# goes out within a couple of milliseconds, large enough that yielding costs nothing.
CHUNK = 500
# Closed batches waiting for the writer; beyond this the folder (and, behind it, the reader) waits.
AHEAD = 2
# A live batch is written once its first event is this old (or it is full): a task's events then mostly
# land in one batch and one row version, instead of one per batch (measured: PostgreSQL's CPU per task
# was the largest of any process end to end). Bounds the lag it adds.
LINGER_S = 0.01


class Source(Protocol):
    async def take(self, limit: int) -> list[tuple[int, bytes]]:
        """Up to `limit` (seq, raw event) pairs in stream order, waiting for one; [] at the end."""
        ...


class Folder:
    """Takes messages from `reader` after sequence `after`, folds them into batches of up to `batch_max`
    events. `take` hands the writer the oldest closed batch, or else whatever has been folded so far
    (live, a batch is what arrived while the previous one was being written)."""

    def __init__(self, reader: Source, after: int, batch_max: int) -> None:
        self._reader, self._after, self._batch_max = reader, after, batch_max
        self._closed: deque[BatchChanges] = deque()
        self._open = BatchChanges()
        self._folded = asyncio.Event()
        self._taken = asyncio.Event()
        self._ended = False
        self._opened_at = 0.0

    async def run(self) -> None:
        """Fold until the reader is closed; `take` then returns what is left, then None."""
        try:
            while True:
                messages = await self._reader.take(CHUNK)
                if not messages:
                    return
                if messages[0][0] <= self._after:
                    # Already applied (redelivery after a restart): a no-op.
                    messages = [m for m in messages if m[0] > self._after]
                if messages:
                    self._after = messages[-1][0]
                    self._add(messages)
                while len(self._closed) >= AHEAD:
                    self._taken.clear()
                    await self._taken.wait()
                await asyncio.sleep(0)  # let the writer send its next statement
        finally:
            self._ended = True
            self._folded.set()

    def _add(self, messages: list[tuple[int, bytes]]) -> None:
        if not self._open.events:
            self._opened_at = time.monotonic()
        while messages:
            room = self._batch_max - self._open.events
            fold_into(self._open, messages[:room])
            messages = messages[room:]
            if self._open.events >= self._batch_max:
                self._closed.append(self._open)
                self._open = BatchChanges()
                self._opened_at = time.monotonic()
        self._folded.set()

    async def take(self) -> BatchChanges | None:
        """The next batch to write, waiting for one; None once the folder has ended and nothing is left."""
        while not self._closed and not self._open.events:
            if self._ended:
                return None
            self._folded.clear()
            await self._folded.wait()
        if not self._closed and not self._ended:
            young = LINGER_S - (time.monotonic() - self._opened_at)
            if young > 0:
                await asyncio.sleep(young)
        if self._closed:
            batch = self._closed.popleft()
        else:
            batch, self._open = self._open, BatchChanges()
        self._taken.set()
        return batch
