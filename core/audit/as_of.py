"""Time travel: an aggregate's history cut at a past moment, given as a stream sequence or an ISO 8601 time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from core.events.envelope import Recorded

SEQ_MAX = 2**63 - 1


class BadAsOf(ValueError):
    """Neither a stream sequence nor an ISO 8601 time; the message says what is expected."""


def parse_as_of(raw: str) -> int | datetime:
    """A stream sequence (digits) or an ISO 8601 time (without an offset: UTC)."""
    text = raw.strip()
    if text.isdigit():  # ASCII digits only: isdigit() alone also takes other scripts' digits
        if not text.isascii() or int(text) > SEQ_MAX:
            raise BadAsOf(f"a stream sequence is at most {SEQ_MAX}")
        return int(text)
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        return at.astimezone(UTC) if at.tzinfo is not None else at.replace(tzinfo=UTC)
    except (ValueError, OverflowError) as err:
        raise BadAsOf("a stream sequence (e.g. 1042) or an ISO 8601 time (e.g. 2025-01-31T12:00:00Z)") from err


def history_as_of(history: Sequence[Recorded[Any]], as_of: int | datetime) -> list[Recorded[Any]]:
    """The events up to and including `as_of`: those with seq <= it, or those that occurred at or before it.

    The log's order is kept: an event stored later but stamped earlier (another writer's clock) is not pulled
    forward, so the result is always a prefix of the history, a state the aggregate really went through."""
    out: list[Recorded[Any]] = []
    for rec in history:
        if rec.seq > as_of if isinstance(as_of, int) else rec.envelope.occurred_at > as_of:
            break
        out.append(rec)
    return out
