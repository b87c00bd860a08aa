"""OpenAPI for the bodies the workflow routes read themselves: an n8n export, and an execute request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Litestar
from litestar.openapi.spec import OpenAPIMediaType, Operation, Reference, RequestBody

from gateway.workflow_schemas import ExecuteWorkflow

_NODE = {
    "type": "object", "required": ["name", "type"],
    "properties": {"name": {"type": "string"}, "type": {"type": "string", "examples": ["n8n-nodes-base.set"]},
                   "typeVersion": {"type": "number"}, "parameters": {"type": "object"},
                   "onError": {"type": "string"}, "continueOnFail": {"type": "boolean"},
                   "retryOnFail": {"type": "boolean"}, "maxTries": {"type": "integer"}},
}
WORKFLOW_DOCUMENT: dict[str, Any] = {
    "type": "object", "required": ["nodes", "connections"],
    "description": "An n8n workflow export (as n8n's 'Download' writes it); other fields are kept as they are.",
    "properties": {
        "name": {"type": "string", "maxLength": 200},
        "nodes": {"type": "array", "items": _NODE},
        "connections": {"type": "object", "description": "source node -> type (main, ai_languageModel) -> "
                                                        "per output, its targets {node, type, index}"},
        "settings": {"type": "object"},
        "pinData": {"type": "object"},
    },
}
_EXECUTE, _EXECUTE_COMPONENTS = msgspec.json.schema_components([ExecuteWorkflow],
                                                               ref_template="#/components/schemas/{name}")


def _body(name: str, description: str, required: bool = True) -> RequestBody:
    return RequestBody(content={"application/json": OpenAPIMediaType(schema=Reference(f"#/components/schemas/{name}"))},
                       description=description, required=required)


@dataclass
class WorkflowBodyOperation(Operation):
    def __post_init__(self) -> None:
        self.request_body = _body("WorkflowDocument", "the n8n workflow export")


@dataclass
class ExecuteOperation(Operation):
    def __post_init__(self) -> None:
        self.request_body = _body("ExecuteWorkflow", "what the trigger emits (optional)", required=False)


RESUME_BODY: dict[str, Any] = {
    "description": "Any JSON: for a webhook wait, the `body` of the item the Wait node emits (with the request's "
                   "`headers` and `query`); for a form wait, an object of the form's fields by label (or n8n's "
                   "`field-<n>` keys), checked against the node's `formFields`.",
    "examples": [{"approved": True}, {"Decision": "yes", "Amount": 12}],
}


@dataclass
class ResumeOperation(Operation):
    def __post_init__(self) -> None:
        self.request_body = _body("ResumeBody", "what the waiting node emits (optional)", required=False)


def add_workflow_schemas(app: Litestar) -> None:
    schemas = app.openapi_schema.components.schemas
    assert isinstance(schemas, dict)
    schemas["WorkflowDocument"] = WORKFLOW_DOCUMENT  # type: ignore[assignment]  # plain JSON Schema
    schemas["ResumeBody"] = RESUME_BODY  # type: ignore[assignment]  # plain JSON Schema
    schemas.update(_EXECUTE_COMPONENTS)  # type: ignore[arg-type]
