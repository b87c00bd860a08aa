"""The retry policy: how many runs a task gets and how long it waits between them. Pure."""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec

# Why an attempt ended without a result, as the retry policy sees it.
EXECUTOR_ERROR = "executor_error"
TIMED_OUT = "timed_out"
AGENT_LOST = "agent_lost"


class RetryPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """Defaults for tasks that do not set their own (HIVE_TASK_MAX_ATTEMPTS, HIVE_RETRY_BACKOFF_S, ...)."""

    max_attempts: int = 3
    backoff_s: float = 1.0
    backoff_max_s: float = 60.0
    # A task whose agent is lost is queued again at once, without using up an attempt (the agent failed, not
    # the task); after this many losses it fails for good, so a task that crashes every host it lands on stops.
    max_agent_losses: int = 3


class Failure(msgspec.Struct, frozen=True, kw_only=True):
    """How one attempt ended: what the agent (or the coordinator, for a lost agent) said."""

    reason: str
    error: str
    retryable: bool = True
    agent_id: str | None = None
    exit_code: int | None = None
    output: str = ""


def backoff(policy: RetryPolicy, base_s: float | None, failures: int, jitter: float) -> timedelta:
    """Exponential backoff with equal jitter: the n-th retry waits between d/2 and d, d = base * 2**(n-1)
    capped at the policy's maximum; `jitter` in [0, 1) is drawn by the caller (so this stays pure)."""
    base = policy.backoff_s if base_s is None else base_s
    d = min(policy.backoff_max_s, base * 2 ** max(0, failures - 1))
    return timedelta(seconds=d / 2 + d / 2 * jitter)


def retry_at(policy: RetryPolicy, base_s: float | None, failures: int, now: datetime, jitter: float) -> datetime:
    return now + backoff(policy, base_s, failures, jitter)
