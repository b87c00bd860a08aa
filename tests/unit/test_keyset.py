"""The list queries' WHERE builder: filters left out when None, values always parameters, limit + 1 rows."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.keyset import Where

AT = datetime(2026, 1, 1, tzinfo=UTC)


def test_no_filters_is_an_ordered_page_of_limit_plus_one() -> None:
    assert Where().page("SELECT id FROM t", "id", 50) == ("SELECT id FROM t ORDER BY id LIMIT $1", [51])


def test_filters_whose_value_is_none_are_left_out_and_the_rest_are_numbered_in_order() -> None:
    where = Where().add("status", "queued").add("severity", None).flag("dead_lettered", None)
    where.flag("deleted", False).add("seq", 7, ">").before(("created_at", "id"), (AT, "t9"))
    sql, args = where.page("SELECT id FROM t", "created_at DESC, id DESC", 10)
    assert sql == ("SELECT id FROM t WHERE status = $1 AND NOT deleted AND seq > $2 AND (created_at, id) < ($3, $4)"
                   " ORDER BY created_at DESC, id DESC LIMIT $5")
    assert args == ["queued", 7, AT, "t9", 11]


def test_a_value_never_becomes_sql_text() -> None:
    sql, args = Where().add("status", "x' OR '1'='1").page("SELECT id FROM t", "id", 1)
    assert "'" not in sql and args[0] == "x' OR '1'='1"
