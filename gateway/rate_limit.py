"""Token-bucket rate limits per caller and action, with limits per role (requests per minute)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping

# Past this many buckets, the full ones are dropped: a full bucket is the same as no bucket.
_PRUNE_AT = 10_000


class _Bucket:
    __slots__ = ("tokens", "at", "capacity")

    def __init__(self, capacity: int, at: float) -> None:
        self.tokens = float(capacity)
        self.at = at
        self.capacity = capacity

    def refill(self, now: float) -> None:
        self.tokens = min(float(self.capacity), self.tokens + (now - self.at) * self.capacity / 60.0)
        self.at = now


class RateLimiter:
    """`take(subject, roles, action)` answers 0 when the request may go, else the seconds to wait.

    A bucket holds a minute's worth of requests (the burst) and refills continuously. A caller with
    several roles gets the most generous limit among them; a role without a rule for the action is not
    limited. Buckets live in one gateway process: N gateway processes let a caller through N times.
    """

    def __init__(self, limits: Mapping[str, Mapping[str, int]], clock: Callable[[], float] = time.monotonic) -> None:
        self._limits = {action: dict(per_role) for action, per_role in limits.items()}
        self._clock = clock
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    def limit_of(self, roles: Iterable[str], action: str) -> int | None:
        """Requests per minute for these roles, or None for no limit."""
        per_role = self._limits.get(action)
        if per_role is None:
            return None
        limits = [per_role.get(role) for role in roles]
        if not limits:
            return 0
        if any(limit is None for limit in limits):
            return None
        return max(limit for limit in limits if limit is not None)

    def take(self, subject: str, roles: Iterable[str], action: str) -> float:
        limit = self.limit_of(roles, action)
        if limit is None:
            return 0.0
        if limit <= 0:
            return math.inf
        now = self._clock()
        key = (subject, action)
        bucket = self._buckets.get(key)
        if bucket is None or bucket.capacity != limit:
            if len(self._buckets) >= _PRUNE_AT:
                self._prune(now)
            bucket = self._buckets[key] = _Bucket(limit, now)
        else:
            bucket.refill(now)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) * 60.0 / limit

    def _prune(self, now: float) -> None:
        for key, bucket in list(self._buckets.items()):
            bucket.refill(now)
            if bucket.tokens >= bucket.capacity:
                del self._buckets[key]
