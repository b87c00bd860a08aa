"""core.runtime.retrying: transient errors are retried with backoff, others raised at once."""

from __future__ import annotations

import nats.errors
import pytest
from nats.js.errors import NoStreamResponseError

from core.runtime import retrying
from core.store.transient import TRANSIENT


async def test_transient_errors_are_retried_until_the_operation_succeeds() -> None:
    failures = [nats.errors.TimeoutError(), NoStreamResponseError()]

    async def op() -> str:
        if failures:
            raise failures.pop(0)
        return "done"

    assert await retrying(op, "the test op", only=TRANSIENT, max_delay=0.0) == "done"
    assert failures == []


async def test_an_error_outside_only_is_raised_on_the_first_try() -> None:
    calls = 0

    async def op() -> None:
        nonlocal calls
        calls += 1
        raise ValueError("a bug, not a server away")

    with pytest.raises(ValueError, match="a bug"):
        await retrying(op, "the test op", only=TRANSIENT)
    assert calls == 1


async def test_after_the_attempts_the_last_error_is_raised() -> None:
    calls = 0

    async def op() -> None:
        nonlocal calls
        calls += 1
        raise nats.errors.NoRespondersError()

    with pytest.raises(nats.errors.NoRespondersError):
        await retrying(op, "the test op", attempts=3, max_delay=0.0)
    assert calls == 3
