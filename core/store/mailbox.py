"""The hand-off between a connection's reading side and its consumer: appended in order, taken in order."""

from __future__ import annotations

import asyncio
from typing import Generic, TypeVar

T = TypeVar("T")


class Mailbox(Generic[T]):
    """The reading side appends to `items` and calls `wake()`; the consumer awaits `take()`."""

    def __init__(self) -> None:
        self.items: list[T] = []
        self.closed = False
        self._ready = asyncio.Event()

    def __len__(self) -> int:
        return len(self.items)

    def wake(self) -> None:
        self._ready.set()

    def close(self) -> None:
        """Wake a waiting `take` with an empty list once what is here has been taken (used on stop)."""
        self.closed = True
        self._ready.set()

    async def take(self, limit: int) -> list[T]:
        """Up to `limit` items in order, waiting for at least one; [] once closed and empty."""
        while not self.items:
            if self.closed:
                return []
            self._ready.clear()
            await self._ready.wait()
        out, self.items = self.items[:limit], self.items[limit:]
        return out
