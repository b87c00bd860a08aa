"""Identifier generation (UUIDv7): the one place that reads the clock and entropy for ids."""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = 0
_counter = 0
# Entropy is read from the OS in blocks: one syscall per id would dominate the cost of making one.
_POOL_IDS = 512
_pool = b""
_pool_at = 0


def _random62() -> int:
    global _pool, _pool_at
    if _pool_at >= len(_pool):
        _pool, _pool_at = os.urandom(8 * _POOL_IDS), 0
    at, _pool_at = _pool_at, _pool_at + 8
    return int.from_bytes(_pool[at:at + 8], "big") & ((1 << 62) - 1)


def uuid7() -> str:
    """A time-ordered UUIDv7 string; ids made in one process sort in creation order."""
    global _last_ms, _counter
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last_ms:
            # Same millisecond (or clock went back): bump a 12-bit counter so order holds.
            _counter += 1
            if _counter > 0xFFF:
                _last_ms += 1
                _counter = 0
            ms = _last_ms
        else:
            _last_ms = ms
            _counter = int.from_bytes(os.urandom(2), "big") & 0x3FF
        counter = _counter
        rand = _random62()
    h = f"{(ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | rand:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_IDEMPOTENCY_NS = uuid.UUID("6f1c1f0e-3c1b-4c51-9a57-0d4e4b9b7a01")


def idempotent_task_id(principal: str, key: str) -> str:
    """The task id a client's Idempotency-Key maps to, forever: same caller and key, same task."""
    return str(uuid.uuid5(_IDEMPOTENCY_NS, f"{principal}\x00{key}"))
