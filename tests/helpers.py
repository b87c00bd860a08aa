"""Test helpers: wait on a condition with a deadline (tests never sleep to wait)."""

from __future__ import annotations

import asyncio
import inspect
import os
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar, overload

from core.domain import task as task_domain
from core.domain.retry import Failure, RetryPolicy

T = TypeVar("T")


@overload
async def wait_until(
    condition: Callable[[], Awaitable[T]], timeout: float = ..., interval: float = ..., what: str = ...
) -> T: ...


@overload
async def wait_until(condition: Callable[[], T], timeout: float = ..., interval: float = ..., what: str = ...) -> T: ...


async def wait_until(
    condition: Callable[[], Any], timeout: float = 30.0, interval: float = 0.02, what: str = "condition"
) -> Any:
    """Poll `condition` until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        value = condition()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        last = value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what} (last value: {last!r})")
        await asyncio.sleep(interval)


def fail(state: Any, agent_id: str, attempt: int, error: str, retryable: bool, exit_code: int | None, output: str,
         started_at: datetime | None = None, reason: str = "executor_error", now: datetime | None = None) -> list[Any]:
    """A failed-run report as the coordinator decides it, under the default retry policy (no jitter)."""
    failure = Failure(reason=reason, error=error, retryable=retryable, agent_id=agent_id, exit_code=exit_code,
                      output=output)
    return task_domain.record_failure(state, failure, attempt, RetryPolicy(), now or datetime(2026, 1, 1, tzinfo=UTC),
                                      0.0, started_at)


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (signal 0 checks without sending anything)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
