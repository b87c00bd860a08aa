"""Pure parts of the gateway: permission matrix, body parsing and digests, error paths, cursors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.create_task import check_idempotency_key, parse, request_digest
from gateway.cursor import IdCursor, TimeCursor, decode_cursor, encode_cursor
from gateway.errors import InvalidInput
from gateway.permissions import Permission, allows
from gateway.token_cache import VerifiedTokens


@pytest.mark.parametrize(
    ("roles", "permission", "allowed"),
    [
        (["admin"], Permission.TASKS_CREATE, True),
        (["admin"], "anything.at.all", True),
        (["developer"], Permission.TASKS_CREATE, True),
        (["developer"], Permission.TASKS_VIEW, True),
        (["developer"], Permission.AGENTS_VIEW, True),
        (["developer"], "workflows.create", True),
        (["developer"], "executions.cancel", True),
        (["developer"], "agents.drain", False),
        (["viewer"], Permission.TASKS_VIEW, True),
        (["viewer"], Permission.AGENTS_VIEW, True),
        (["viewer"], Permission.TASKS_CREATE, False),
        (["agent"], Permission.TASKS_VIEW, False),
        (["unknown-role"], Permission.TASKS_VIEW, False),
        ([], Permission.TASKS_VIEW, False),
        (["viewer", "developer"], Permission.TASKS_CREATE, True),
    ],
)
def test_permission_matrix(roles: list[str], permission: str, allowed: bool) -> None:
    assert allows(roles, permission) is allowed


def test_wildcard_does_not_leak_across_resources() -> None:
    # "workflows.*" must not grant "workflowsX.y".
    assert not allows(["developer"], "workflowsx.create")


def test_digest_ignores_key_order_and_explicit_defaults() -> None:
    a = parse(b'{"title": "x", "payload": {"b": 1, "a": {"d": 2, "c": 3}}}')
    b = parse(b'{"payload": {"a": {"c": 3, "d": 2}, "b": 1}, "title": "x", "priority": 0, "timeout_s": null}')
    assert request_digest(a) == request_digest(b)
    assert request_digest(a) != request_digest(parse(b'{"title": "y"}'))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"title": "a", "extra": 1}', "$.extra"),
        (b'{"payload": {}}', "$.title"),
        (b'{"title": "a", "capabilities": ["ok", "NO"]}', "$.capabilities[1]"),
        (b'{"title": "a", "depends_on": ["0190a0b0-0000-7000-8000-000000000000", '
         b'"0190a0b0-0000-7000-8000-000000000000"]}', "$.depends_on[1]"),
        (b"{", "$"),
    ],
)
def test_parse_names_the_field(body: bytes, field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse(body)
    assert info.value.errors[0].field == field


@pytest.mark.parametrize("key", ["", " leading", "x" * 201, "tab\tkey", "é"])
def test_bad_idempotency_keys(key: str) -> None:
    with pytest.raises(InvalidInput):
        check_idempotency_key(key)


def test_cursors_round_trip_and_reject_foreign_values() -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert decode_cursor(encode_cursor(TimeCursor(at, "id-1")), TimeCursor) == TimeCursor(at, "id-1")
    assert decode_cursor(encode_cursor(IdCursor("gpu-1")), IdCursor) == IdCursor("gpu-1")
    for raw in ("", "%%%", encode_cursor(IdCursor("x")), "e30"):
        with pytest.raises(InvalidInput):
            decode_cursor(raw, TimeCursor)


def test_verified_tokens_end_at_exp_and_stay_bounded() -> None:
    now = [1000.0]
    cache: VerifiedTokens[str] = VerifiedTokens(max_entries=2, clock=lambda: now[0])
    cache.put("a", "alice", expires_at=1010.0)
    assert cache.get("a") == "alice" and cache.get("unknown") is None
    now[0] = 1010.0  # PyJWT refuses a token once now >= exp
    assert cache.get("a") is None and len(cache) == 0
    for token in ("b", "c", "d"):
        cache.put(token, token, expires_at=2000.0)
    assert len(cache) == 2 and cache.get("b") is None and cache.get("d") == "d"
