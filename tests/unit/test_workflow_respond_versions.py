"""Respond to Webhook (v1 to v1.5, RespondToWebhook.node.ts) and the Webhook trigger (v1 to v2.1, Webhook.node.ts
and Webhook/utils.ts) as Hive runs them: the response recorded, the Response output of 1.3 and 1.4+, and what
upload refuses."""

from __future__ import annotations

from typing import Any

import pytest

from core.workflows.errors import InvalidWorkflow
from core.workflows.model import parse_workflow
from core.workflows.node_misc import TriggerInput
from core.workflows.validate import validate
from tests.unit.workflow_support import outputs, run

Json = dict[str, Any]
HOOK = {"name": "Webhook", "type": "n8n-nodes-base.webhook", "typeVersion": 2,
        "parameters": {"path": "p", "httpMethod": "POST", "responseMode": "responseNode"}}


def document(version: float, parameters: Json, trigger: Json | None = None, **node: Any) -> Any:
    start = trigger or HOOK
    respond = {"name": "Respond", "type": "n8n-nodes-base.respondToWebhook", "typeVersion": version,
               "parameters": parameters, **node}
    return parse_workflow({"nodes": [start, respond], "connections": {
        start["name"]: {"main": [[{"node": "Respond", "type": "main", "index": 0}]]}}})


def respond(version: float, parameters: Json, body: Any = None, **node: Any) -> tuple[Any, Any]:
    finish, state = run(document(version, parameters, **node), given=TriggerInput(body=body or {"name": "ann"}))
    assert finish.status == "completed", finish.error
    return finish.response, state


@pytest.mark.parametrize(("parameters", "status", "headers", "body"), [
    ({}, 200, {}, {"headers": {}, "params": {}, "query": {}, "body": {"name": "ann"}, "webhookUrl": "",
                   "executionMode": "production"}),
    ({"respondWith": "firstIncomingItem", "options": {"responseKey": "data.item"}}, 200, {},
     {"data": {"item": {"headers": {}, "params": {}, "query": {}, "body": {"name": "ann"}, "webhookUrl": "",
                        "executionMode": "production"}}}),
    ({"respondWith": "json"}, 200, {}, {"myField": "value"}),  # n8n's default body, left out of the export
    ({"respondWith": "json", "responseBody": "={\"hi\": \"{{ $json.body.name }}\"}",
      "options": {"responseCode": 201, "responseHeaders": {"entries": [{"name": "X-Kind", "value": 7}]}}},
     201, {"x-kind": "7"}, {"hi": "ann"}),
    ({"respondWith": "json", "responseBody": ""}, 200, {}, None),
    ({"respondWith": "text", "responseBody": "={{ $json.body.name }}!"}, 200, {}, "ann!"),
    ({"respondWith": "noData", "options": {"responseCode": 204}}, 204, {}, None),
    ({"respondWith": "redirect", "redirectURL": "https://x.test/{{ 1 }}"}, 307, {"location": "https://x.test/{{ 1 }}"},
     None),
    ({"respondWith": "redirect", "redirectURL": "=https://x.test/{{ 1 }}", "options": {"responseCode": 302}}, 302,
     {"location": "https://x.test/1"}, None),
])
def test_responses(parameters: Json, status: int, headers: Json, body: Any) -> None:
    response, _ = respond(1.1, parameters)
    assert (response["status"], response["headers"], response["body"]) == (status, headers, body)


def test_all_incoming_items() -> None:
    response, _ = respond(1, {"respondWith": "allIncomingItems", "options": {"responseKey": "items"}})
    assert response["body"] == {"items": [{"headers": {}, "params": {}, "query": {}, "body": {"name": "ann"},
                                           "webhookUrl": "", "executionMode": "production"}]}


@pytest.mark.parametrize(("version", "extra", "count"), [
    (1.2, {}, 1), (1.3, {}, 2), (1.4, {}, 1), (1.4, {"enableResponseOutput": True}, 2), (1.5, {}, 1),
])
def test_the_response_output(version: float, extra: Json, count: int) -> None:
    response, state = respond(version, {"respondWith": "json", "responseBody": "{\"ok\": true}", **extra})
    got = outputs(state, "Respond")
    assert len(got) == count and got[0][0]["body"] == {"name": "ann"}
    if count == 2:
        assert got[1] == [{"response": {"body": {"ok": True}, "headers": {}, "statusCode": 200}}]


def test_continuing_on_failure_gives_one_error_item() -> None:
    workflow = document(1.1, {"respondWith": "json", "responseBody": "{nope"}, onError="continueRegularOutput")
    finish, state = run(workflow, given=TriggerInput(body={}))
    assert finish.status == "completed" and finish.response is None
    [[item]] = outputs(state, "Respond")
    assert list(item) == ["error"] and "Invalid JSON in 'Response Body' field" in item["error"]


def test_a_disabled_respond_node_answers_nothing() -> None:
    finish, state = run(document(1.1, {"respondWith": "text", "responseBody": "x"}, disabled=True),
                        given=TriggerInput(body={}))
    assert finish.status == "completed" and finish.response is None


# -- upload -----------------------------------------------------------------------------------------------------------

MANUAL = {"name": "Start", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1, "parameters": {}}


def problems(workflow: Any) -> list[tuple[str | None, str]]:
    try:
        validate(workflow)
    except InvalidWorkflow as err:
        return [(p.node, p.field) for p in err.problems]
    return []


@pytest.mark.parametrize(("version", "parameters", "trigger", "found"), [
    (1.1, {"respondWith": "binary"}, None, [("Respond", "$.nodes[1].parameters.respondWith")]),
    (1.4, {"respondWith": "jwt"}, None, [("Respond", "$.nodes[1].parameters.respondWith")]),
    (1, {"respondWith": "file"}, None, [("Respond", "$.nodes[1].parameters.respondWith")]),
    # From v1.1 on, n8n fails a Respond to Webhook with no Webhook (or Wait, or chat trigger) before it.
    (1.1, {}, MANUAL, [("Respond", "$.nodes[1]")]),
    (1, {}, MANUAL, []),
    # After a chat trigger answering through response nodes, n8n turns the response into a chat turn and waits.
    (1.5, {}, {"name": "Chat", "type": "@n8n/n8n-nodes-langchain.chatTrigger", "typeVersion": 1.3,
               "parameters": {"options": {"responseMode": "responseNodes"}}}, [("Respond", "$.nodes[1]")]),
    (1.5, {}, {"name": "Chat", "type": "@n8n/n8n-nodes-langchain.chatTrigger", "typeVersion": 1.3,
               "parameters": {"options": {}}}, []),
])
def test_respond_upload(version: float, parameters: Json, trigger: Json | None,
                        found: list[tuple[str, str]]) -> None:
    assert problems(document(version, parameters, trigger)) == found


def hook(version: float, **parameters: Any) -> Json:
    return {**HOOK, "typeVersion": version, "parameters": {"path": "p", **parameters}}


@pytest.mark.parametrize(("trigger", "field"), [
    (hook(2, httpMethod=["GET", "POST"], multipleMethods=True, responseMode="responseNode"),
     "$.nodes[0].parameters.httpMethod"),
    (hook(1, httpMethod="POST", responseMode="responseNode", options={"binaryData": True}),
     "$.nodes[0].parameters.options.binaryData"),
    (hook(2.1, responseMode="responseNode", options={"rawBody": True}), "$.nodes[0].parameters.options.rawBody"),
    (hook(2, responseMode="responseNode", authentication="jwtAuth"), "$.nodes[0].parameters.authentication"),
    # Webhook v2+: a Respond to Webhook node after it needs responseMode responseNode (or streaming).
    (hook(2), "$.nodes[0].parameters.responseMode"),
    (hook(2.1, responseMode="lastNode"), "$.nodes[0].parameters.responseMode"),
])
def test_webhook_upload_refuses(trigger: Json, field: str) -> None:
    assert problems(document(1.1, {}, trigger)) == [("Webhook", field)]


def test_webhook_upload_accepts() -> None:
    assert problems(document(1.1, {}, hook(1))) == []  # v1 does not check its responseMode
    assert problems(document(1.1, {}, hook(2.1, responseMode="streaming"))) == []
    assert problems(document(1.1, {}, hook(2, responseMode="responseNode", authentication="headerAuth"))) == []
    alone = parse_workflow({"nodes": [hook(2, responseMode="responseNode")], "connections": {}})
    assert problems(alone) == [("Webhook", "$.nodes[0].parameters.responseMode")]
