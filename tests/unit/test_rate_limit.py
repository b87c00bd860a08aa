"""Token buckets per caller and action: burst, refill, Retry-After, most generous role, unlimited actions."""

from __future__ import annotations

import math

import pytest

from gateway.rate_limit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


LIMITS = {"workflows.create": {"admin": 120, "developer": 60, "viewer": 0}}


def test_a_minute_of_burst_then_refusal_with_the_wait() -> None:
    clock = Clock()
    limiter = RateLimiter(LIMITS, clock)
    assert all(limiter.take("dev", ["developer"], "workflows.create") == 0 for _ in range(60))
    wait = limiter.take("dev", ["developer"], "workflows.create")
    assert wait == pytest.approx(1.0)  # 60 per minute: one token a second
    clock.now += 0.5
    assert limiter.take("dev", ["developer"], "workflows.create") == pytest.approx(0.5)
    clock.now += 0.5
    assert limiter.take("dev", ["developer"], "workflows.create") == 0


def test_buckets_are_per_caller_and_refill_to_the_burst_only() -> None:
    clock = Clock()
    limiter = RateLimiter(LIMITS, clock)
    for _ in range(60):
        limiter.take("a", ["developer"], "workflows.create")
    assert limiter.take("a", ["developer"], "workflows.create") > 0
    assert limiter.take("b", ["developer"], "workflows.create") == 0
    clock.now += 3600  # an hour idle refills a minute's worth, no more
    assert sum(limiter.take("a", ["developer"], "workflows.create") == 0 for _ in range(100)) == 60


def test_roles_actions_and_zero() -> None:
    limiter = RateLimiter(LIMITS, Clock())
    assert limiter.limit_of(["developer", "admin"], "workflows.create") == 120  # the most generous role
    assert limiter.limit_of(["developer", "agent"], "workflows.create") is None  # a role without a rule
    assert limiter.limit_of(["admin"], "tasks.view") is None  # an action without rules
    assert limiter.take("x", ["admin"], "tasks.view") == 0
    assert limiter.take("v", ["viewer"], "workflows.create") == math.inf


def test_idle_full_buckets_are_pruned() -> None:
    clock = Clock()
    limiter = RateLimiter({"a": {"admin": 1}}, clock)
    assert limiter.take("s", ["admin"], "a") == 0
    assert limiter.take("s", ["admin"], "a") == pytest.approx(60.0)
    for i in range(10_001):  # past the pruning threshold: idle, refilled buckets go
        limiter.take(f"caller-{i}", ["admin"], "a")
    clock.now += 120
    limiter.take("new", ["admin"], "a")
    assert len(limiter._buckets) < 10_000
