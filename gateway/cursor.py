"""Opaque paging cursors: the sort key of the last row, base64url-encoded JSON."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from collections.abc import Callable
from typing import TypeVar

import msgspec

from gateway.errors import invalid


class TimeCursor(msgspec.Struct, array_like=True, frozen=True):
    """(created_at, id) of the last item of a page ordered newest first."""

    at: datetime
    id: str


class IdCursor(msgspec.Struct, array_like=True, frozen=True):
    id: str


class SeqCursor(msgspec.Struct, array_like=True, frozen=True):
    """The stream sequence of the last event of a page ordered by sequence."""

    seq: int


C = TypeVar("C", TimeCursor, IdCursor, SeqCursor)
R = TypeVar("R")
AnyCursor = TimeCursor | IdCursor | SeqCursor


def encode_cursor(value: AnyCursor) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(value)).decode().rstrip("=")


def page(rows: list[R], limit: int, cursor_of: Callable[[R], AnyCursor]) -> tuple[list[R], str | None]:
    """A list query's rows (it fetched limit + 1) as one page: its first `limit` rows, and the cursor of the next
    page (None on the last)."""
    items = rows[:limit]
    return items, encode_cursor(cursor_of(items[-1])) if len(rows) > limit else None


def decode_cursor(raw: str, kind: type[C]) -> C:
    try:
        data = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
        if b"\\u0000" in data:  # no id holds NUL, and PostgreSQL text cannot: a forged cursor, not a 500
            raise ValueError("NUL in a cursor")
        value = msgspec.json.decode(data, type=kind)
        if isinstance(value, TimeCursor) and value.at.tzinfo is not None:
            value.at.astimezone(UTC)  # OverflowError past year 1 or 9999 in UTC, where PostgreSQL's codec fails
        return value
    except (binascii.Error, ValueError, OverflowError, msgspec.MsgspecError) as err:
        raise invalid("cursor", "not a cursor this API issued; pass next_cursor back unchanged") from err
