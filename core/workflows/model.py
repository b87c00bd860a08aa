"""An n8n workflow export as typed structs: nodes, connections, settings and pinned data."""

from __future__ import annotations

from typing import Any

import msgspec

from core.workflows.errors import InvalidWorkflow, Problem


class Connection(msgspec.Struct, frozen=True, kw_only=True):
    node: str
    type: str = "main"
    index: int = 0


class Node(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    type: str
    type_version: float = msgspec.field(name="typeVersion", default=1)
    parameters: dict[str, Any] = {}
    id: str | None = None
    disabled: bool = False
    # Error handling and retries, as n8n writes them on the node (not in its parameters).
    continue_on_fail: bool = msgspec.field(name="continueOnFail", default=False)
    on_error: str | None = msgspec.field(name="onError", default=None)
    retry_on_fail: bool = msgspec.field(name="retryOnFail", default=False)
    max_tries: int = msgspec.field(name="maxTries", default=3)
    wait_between_tries: int = msgspec.field(name="waitBetweenTries", default=1000)
    always_output_data: bool = msgspec.field(name="alwaysOutputData", default=False)
    execute_once: bool = msgspec.field(name="executeOnce", default=False)
    # n8n's credential references by type (`{"httpHeaderAuth": {"id": ..., "name": ...}}`): names, never secrets.
    credentials: dict[str, Any] = {}


# connections: source node -> connection type ("main", "ai_languageModel", ...) -> per output index, its targets.
Connections = dict[str, dict[str, list[list[Connection] | None]]]


class Workflow(msgspec.Struct, frozen=True, kw_only=True):
    name: str = ""
    nodes: list[Node]
    connections: Connections = {}
    settings: dict[str, Any] = {}
    pin_data: dict[str, Any] | None = msgspec.field(name="pinData", default=None)

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)


_decoder = msgspec.json.Decoder(Workflow)


def parse_workflow(document: bytes | str | dict[str, Any]) -> Workflow:
    """The document as a Workflow; InvalidWorkflow (naming the field) when its shape is wrong."""
    try:
        if isinstance(document, dict):
            return msgspec.convert(document, Workflow)
        return _decoder.decode(document)
    except msgspec.ValidationError as err:
        message, _, path = str(err).partition(" - at `")
        raise InvalidWorkflow([Problem(message=message, field=path.rstrip("`") or "$")]) from err
    except msgspec.DecodeError as err:
        raise InvalidWorkflow([Problem(message=f"not valid JSON ({err})")]) from err


def to_document(workflow: Workflow) -> dict[str, Any]:
    """The workflow as plain JSON data (n8n's field names)."""
    out: dict[str, Any] = msgspec.to_builtins(workflow)
    return out
