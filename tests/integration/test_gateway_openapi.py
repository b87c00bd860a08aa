"""Schemathesis against the gateway's own OpenAPI document: no 5xx, and every answer matches its documented schema."""

from __future__ import annotations

import asyncio
from typing import Any

import hypothesis
import msgspec
import schemathesis
from hypothesis import HealthCheck, given
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from core.dev.ports import free_port
from core.settings import Settings
from projections.service import running_projector
from tests.integration.served import served
from tests.integration.test_gateway_support import auth

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]
EXAMPLES_PER_OPERATION = 30


def _fuzz(schema: Any, base_url: str, headers: dict[str, str]) -> list[str]:
    """Run every operation's generated cases; returns the operations tried (failures raise)."""
    tried = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @hypothesis.settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                             suppress_health_check=list(HealthCheck), derandomize=True)
        def check(case: Any) -> None:
            case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS, timeout=30)

        check()
        tried.append(operation.label)
    return tried


async def test_no_5xx_and_every_response_matches_the_schema(settings: Settings) -> None:
    settings = msgspec.structs.replace(settings, gateway_port=free_port())
    # With a projector, so a generated min_seq that the log has reached is soon reached by the read models.
    async with served(settings, asyncio.Event()) as (client, _), running_projector(settings):
        document = (await client.get("/schema/openapi.json")).json()
        schema = schemathesis.openapi.from_dict(document)
        base_url = str(client.base_url)
        # Hypothesis drives blocking HTTP calls: it runs in a thread while this loop serves them.
        tried = await asyncio.to_thread(_fuzz, schema, base_url, auth(settings, "admin"))
    assert "POST /api/tasks" in tried and "GET /api/tasks/{task_id}" in tried, tried
