"""Dates as n8n reads them from text (Luxon's ISO, HTTP, RFC 2822 and SQL forms; JavaScript's Date for ISO)."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from core.workflows.expr_values import to_string


def parse_date(value: Any) -> datetime | None:
    """The moment `value` names, or None. A time without a zone is taken as UTC (n8n takes its server's zone)."""
    text = to_string(value).strip()
    parsed: datetime | None = None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def millis(moment: datetime) -> float:
    return moment.timestamp() * 1000
