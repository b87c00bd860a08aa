"""Bad input to POST /api/tasks: every case is a 4xx problem naming the field, never a 500."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from core.settings import Settings
from tests.integration.test_gateway_support import auth, gateway

# (case, body bytes, expected status, expected field)
CASES: list[tuple[str, bytes, int, str]] = [
    ("missing title", b'{"prompt": "x"}', 400, "$.title"),
    ("empty title", b'{"title": ""}', 400, "$.title"),
    ("blank title", b'{"title": "   "}', 400, "$.title"),
    ("title too long", b'{"title": "' + b"t" * 201 + b'"}', 400, "$.title"),
    ("title wrong type", b'{"title": 5}', 400, "$.title"),
    ("priority wrong type", b'{"title": "a", "priority": "high"}', 400, "$.priority"),
    ("priority float", b'{"title": "a", "priority": 1.5}', 400, "$.priority"),
    ("priority too high", b'{"title": "a", "priority": 101}', 400, "$.priority"),
    ("priority too low", b'{"title": "a", "priority": -101}', 400, "$.priority"),
    ("priority huge", b'{"title": "a", "priority": 1' + b"0" * 400 + b"}", 400, "$.priority"),
    ("bad capability", b'{"title": "a", "capabilities": ["ok", "Bad Name"]}', 400, "$.capabilities[1]"),
    ("capability not list", b'{"title": "a", "capabilities": "gpu"}', 400, "$.capabilities"),
    ("duplicate capability", b'{"title": "a", "capabilities": ["x", "x"]}', 400, "$.capabilities[1]"),
    ("malformed depends_on", b'{"title": "a", "depends_on": ["x.>"]}', 400, "$.depends_on[0]"),
    ("unknown depends_on", b'{"title": "a", "depends_on": ["' + str(uuid.uuid4()).encode() + b'"]}', 400,
     "$.depends_on[0]"),
    ("extra field", b'{"title": "a", "colour": "red"}', 400, "$.colour"),
    ("payload not object", b'{"title": "a", "payload": [1]}', 400, "$.payload"),
    ("max_attempts zero", b'{"title": "a", "max_attempts": 0}', 400, "$.max_attempts"),
    ("max_attempts too many", b'{"title": "a", "max_attempts": 101}', 400, "$.max_attempts"),
    ("timeout zero", b'{"title": "a", "timeout_s": 0}', 400, "$.timeout_s"),
    ("timeout negative", b'{"title": "a", "timeout_s": -1}', 400, "$.timeout_s"),
    ("timeout nan-ish string", b'{"title": "a", "timeout_s": "NaN"}', 400, "$.timeout_s"),
    ("prompt too long", b'{"title": "a", "prompt": "' + b"p" * (256 * 1024 + 1) + b'"}', 400, "$.prompt"),
    ("model empty", b'{"title": "a", "model": ""}', 400, "$.model"),
    ("invalid json", b'{"title": ', 400, "$"),
    ("not json at all", b"title=a", 400, "$"),
    ("array body", b"[]", 400, "$"),
    ("null body", b"null", 400, "$"),
    ("empty body", b"", 400, "$"),
    ("invalid utf-8", b'{"title": "\xff\xfe"}', 400, "$"),
    ("deep nesting", b'{"title": "a", "payload": {"x": ' + b"[" * 5000 + b"]" * 5000 + b"}}", 400, "$"),
]


@pytest.mark.parametrize(("case", "body", "status", "field"), CASES, ids=[c[0] for c in CASES])
async def test_bad_body_names_the_field(settings: Settings, case: str, body: bytes, status: int, field: str) -> None:
    async with gateway(settings) as client:
        resp = await client.post("/api/tasks", content=body,
                                 headers={**auth(settings), "Content-Type": "application/json"})
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = resp.json()
    assert problem["status"] == status and problem["title"] and problem["type"] and problem["detail"]
    assert problem["errors"][0]["field"].startswith(field), problem


async def test_huge_body_is_413(settings: Settings) -> None:
    body = b'{"title": "a", "payload": {"x": "' + b"x" * (1024 * 1024) + b'"}}'
    async with gateway(settings) as client:
        resp = await client.post("/api/tasks", content=body, headers=auth(settings))
    assert resp.status_code == 413, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")


async def test_wrong_media_type_is_415(settings: Settings) -> None:
    async with gateway(settings) as client:
        resp = await client.post("/api/tasks", content=b"title=a",
                                 headers={**auth(settings), "Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status_code == 415
    assert resp.json()["status"] == 415


async def test_bad_idempotency_key_is_400(settings: Settings) -> None:
    async with gateway(settings) as client:
        resp = await client.post("/api/tasks", json={"title": "a"},
                                 headers={**auth(settings), "Idempotency-Key": "x" * 201})
    assert resp.status_code == 400
    assert resp.json()["errors"][0]["field"] == "Idempotency-Key"


async def test_bad_query_and_paths_are_4xx(settings: Settings) -> None:
    h = auth(settings, "viewer")
    async with gateway(settings) as client:
        cases = {
            "/api/tasks?limit=0": (400, "limit"),
            "/api/tasks?limit=501": (400, "limit"),
            "/api/tasks?limit=abc": (400, "limit"),
            "/api/tasks?limit=%C2%B2": (400, "limit"),
            "/api/tasks?status=nope": (400, "status"),
            "/api/tasks?cursor=!!!": (400, "cursor"),
            "/api/tasks?cursor=WyJ4Il0": (400, "cursor"),
            "/api/agents?limit=-1": (400, "limit"),
            "/api/agents?cursor=e30": (400, "cursor"),
        }
        for url, (status, field) in cases.items():
            resp = await client.get(url, headers=h)
            assert resp.status_code == status, (url, resp.text)
            assert resp.json()["errors"][0]["field"] == field, url
        for url in ("/api/tasks/not-a-uuid", "/api/tasks/x.%3E", f"/api/tasks/{uuid.uuid4()}", "/api/agents/nobody",
                    "/api/nothing-here"):
            resp = await client.get(url, headers=h)
            assert resp.status_code == 404, (url, resp.text)
            assert resp.headers["content-type"].startswith("application/problem+json"), url
        resp = await client.delete("/health")
        assert resp.status_code == 405 and resp.json()["status"] == 405


async def test_payload_nesting_is_capped(settings: Settings) -> None:
    deep = b'{"title": "a", "payload": {"x": ' + b"[" * 40 + b"]" * 40 + b"}}"
    async with gateway(settings) as client:
        resp = await client.post("/api/tasks", content=deep, headers=auth(settings))
    assert resp.status_code == 400
    assert resp.json()["errors"][0]["field"] == "$.payload"


async def test_every_answer_carries_the_request_id(settings: Settings) -> None:
    # Errors raised by middleware (401, a 400 from the route middleware) and routing (404) included.
    async with gateway(settings) as client:
        answers = [
            await client.get("/api/tasks", headers={"X-Request-Id": "mine-1"}),
            await client.get("/api/nothing-here", headers={**auth(settings), "X-Request-Id": "mine-2"}),
            await client.post("/api/tasks", content=b'{"title": 1}',
                              headers={**auth(settings), "X-Request-Id": "mine-3"}),
            await client.get("/health", headers={"X-Request-Id": "mine-4"}),
        ]
        made_up = await client.get("/health", headers={"X-Request-Id": "no spaces allowed"})
    assert [a.status_code for a in answers] == [401, 404, 400, 200]
    assert [a.headers["x-request-id"] for a in answers] == ["mine-1", "mine-2", "mine-3", "mine-4"]
    assert made_up.headers["x-request-id"] != "no spaces allowed" and len(made_up.headers["x-request-id"]) == 36
