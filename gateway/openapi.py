"""The OpenAPI document's shared parts: bearer auth, problem responses, query parameters and request bodies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import msgspec
from litestar import Litestar
from litestar.openapi import OpenAPIConfig
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Components, Example, OpenAPIMediaType, Operation, Reference, RequestBody, SecurityScheme
from litestar.params import Parameter

from gateway.errors import PROBLEM_JSON, Problem
from gateway.query import MAX_LIMIT
from gateway.schemas import CreateTask, CreateTaskBatch

BEARER = "BearerToken"

_REASONS = {
    400: "Invalid input: `errors` names each field (a JSON path or a parameter) and the reason",
    401: "No valid bearer token",
    403: "The token's roles lack this route's permission",
    404: "No such resource",
    409: "Conflicts with the current state",
    413: "The body is larger than the limit",
    415: "The body is not JSON",
    429: "Rate limit reached: retry after `Retry-After` seconds",
    503: "A dependency is unavailable, or the read models did not reach `min_seq` in time",
}


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """Problem-details responses for these statuses, plus those every /api route can answer."""
    every = {400, 401, 403, 429, 503}
    return {
        status: ResponseSpec(data_container=Problem, description=_REASONS[status], media_type=PROBLEM_JSON,
                             generate_examples=False, examples=_EXAMPLES.get(status))
        for status in sorted(every | set(statuses))
    }


_EXAMPLES = {
    400: [Example(summary="a field out of range", value={
        "type": "urn:hive:problem:validation-error", "title": "Bad Request", "status": 400,
        "detail": "$.priority: Expected `int` <= 100",
        "errors": [{"field": "$.priority", "message": "Expected `int` <= 100"}]})],
    429: [Example(summary="rate limited", value={
        "type": "urn:hive:problem:too-many-requests", "title": "Too Many Requests", "status": 429,
        "detail": "rate limit of 50 'workflows.create' requests per minute reached; retry in 1.2 s"})],
}


# Query parameters shared by the list routes (validated by Litestar: a bad one is a 400 naming it).
Limit = Annotated[int, Parameter(ge=1, le=MAX_LIMIT, description="page size")]
Cursor = Annotated[str | None, Parameter(max_length=512, description="`next_cursor` of the previous page")]
# MinSeqMiddleware acts on it before any handler runs; read handlers declare it so the schema shows it.
MinSeq = Annotated[int | None, Parameter(
    ge=0, le=2**63 - 1, description="wait (bounded) until the read models reflect this stream sequence, "
    "the `seq` a write answered: read-your-writes")]

_BODIES, _COMPONENTS = msgspec.json.schema_components([CreateTask, CreateTaskBatch],
                                                     ref_template="#/components/schemas/{name}")


def _body(name: str, description: str) -> RequestBody:
    return RequestBody(content={"application/json": OpenAPIMediaType(schema=Reference(f"#/components/schemas/{name}"))},
                       description=description, required=True)


@dataclass
class CreateTaskOperation(Operation):
    """POST /api/tasks reads its body itself (to name each bad field); this documents the body it reads."""

    def __post_init__(self) -> None:
        self.request_body = _body("CreateTask", "the task to create")


@dataclass
class CreateTaskBatchOperation(Operation):
    def __post_init__(self) -> None:
        self.request_body = _body("CreateTaskBatch", "up to 1,000 tasks, created all or none")


def add_request_schemas(app: Litestar) -> None:
    """The bodies the task routes read themselves: Litestar builds its components from handler signatures only."""
    schemas = app.openapi_schema.components.schemas
    assert isinstance(schemas, dict)
    schemas.update(_COMPONENTS)  # type: ignore[arg-type]  # plain JSON Schema, serialised as is


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Hive",
        version="1",
        description="Event-sourced AI work across a fleet of GPU hosts. Every /api route takes a bearer JWT "
        "(`hive token issue`); errors are application/problem+json.",
        components=Components(
            security_schemes={BEARER: SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")},
        ),
    )
