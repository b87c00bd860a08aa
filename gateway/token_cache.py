"""Remembers what verified bearer tokens said until each one expires, so a token's signature is checked once."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

DEFAULT_MAX_ENTRIES = 10_000


class VerifiedTokens(Generic[T]):
    """token string -> what it grants, valid while the clock is before the token's `exp`.

    Only tokens that verified are stored (storing one needs the signing key), so a flood of garbage
    tokens cannot fill it; the size bound keeps many genuine short-lived tokens from growing it forever.
    """

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES, clock: Callable[[], float] = time.time) -> None:
        self._entries: dict[str, tuple[T, float]] = {}
        self._max = max_entries
        self._clock = clock

    def get(self, token: str) -> T | None:
        entry = self._entries.get(token)
        if entry is None:
            return None
        value, expires_at = entry
        # PyJWT refuses a token once now >= exp: the same instant ends its life here.
        if self._clock() >= expires_at:
            del self._entries[token]
            return None
        return value

    def put(self, token: str, value: T, expires_at: float) -> None:
        if len(self._entries) >= self._max:
            # Dicts keep insertion order: drop the oldest entry (it may be re-verified if used again).
            del self._entries[next(iter(self._entries))]
        self._entries[token] = (value, expires_at)

    def __len__(self) -> int:
        return len(self._entries)
