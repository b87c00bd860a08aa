"""HTTP Request of every typeVersion n8n exports (1, 2, 3, 4, 4.1, 4.2, and 4.3's repeated names): the request each
parameter format makes (the task payload for the http executor), the items each response shape gives, and what is
refused at upload. Node parameters are taken from real exports (n8n's templates and the shared files)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from core.workflows.errors import InvalidWorkflow
from core.workflows.model import parse_workflow
from core.workflows.node_misc import TriggerInput
from core.workflows.node_tasks import ItemResult, TaskRequest, failure_passes
from core.workflows.validate import validate
from tests.unit.workflow_support import FakeTasks, http_ok, outputs, run

TRIGGER = {"name": "On clicking 'execute'", "type": "n8n-nodes-base.manualTrigger", "parameters": {}, "typeVersion": 1}
ITEM = {"ISIN": "DE0007164600", "hashtag": "#n8n", "email": "a@example.com", "user_id": 7}


def node(version: float, parameters: dict[str, Any]) -> dict[str, Any]:
    return {"id": "36f2947b-67cf-47eb-891f-e7e3b5ba9eac", "name": "HTTP Request", "type": "n8n-nodes-base.httpRequest",
            "position": [680, 200], "parameters": parameters, "typeVersion": version}


def workflow(version: float, parameters: dict[str, Any]) -> Any:
    return parse_workflow({"nodes": [TRIGGER, node(version, parameters)], "connections": {
        TRIGGER["name"]: {"main": [[{"node": "HTTP Request", "type": "main", "index": 0}]]}}})


def request_of(version: float, parameters: dict[str, Any], item: dict[str, Any] | None = None) -> dict[str, Any]:
    tasks = FakeTasks(lambda n, r: http_ok({}))
    finish, _ = run(workflow(version, parameters), tasks, TriggerInput(items=[{"json": item or ITEM}]))
    assert finish.status == "completed", finish.error
    request: TaskRequest = tasks.calls[0][1]
    assert request.payload["kind"] == "http" and request.capabilities == ["http"]
    return dict(request.payload["request"])


# -- requests ------------------------------------------------------------------------------------------------

# n8n template "Fetch tradegate stock page" (v1, string response, a query parameter from the item).
V1_UI = {"url": "https://www.tradegate.de/orderbuch.php", "options": {}, "responseFormat": "string",
         "queryParametersUi": {"parameter": [{"name": "isin", "value": "={{$json[\"ISIN\"]}}"}]}}
# n8n template "HTTP Request" to OpenAI (v1, JSON parameters), without its `authentication: headerAuth`: the
# template names no credential, which upload refuses (test_workflow_http_credentials.py).
V1_JSON = {"url": "https://api.openai.com/v1/engines/text-davinci-001/completions", "options": {},
           "requestMethod": "POST", "jsonParameters": True,
           "bodyParametersJson": "={\n \"prompt\": \"Tweet about {{$json[\"hashtag\"]}}:\",\n \"max_tokens\": 64\n}"}


@pytest.mark.parametrize(("version", "parameters", "expected"), [
    (1, V1_UI, {"method": "GET", "url": "https://www.tradegate.de/orderbuch.php", "query": {"isin": "DE0007164600"},
                "body": None, "response_format": "text", "follow_redirects": True}),
    (1, V1_JSON, {"method": "POST", "body": {"prompt": "Tweet about #n8n:", "max_tokens": 64}, "query": {},
                  "response_format": "json", "follow_redirects": False}),
    # "Enviar Email" (v1): a JSON body written as text with an expression inside.
    (1, {"url": "=http://localhost:5000/api/notifications/send-test-email/{{$json[\"user_id\"]}}",
         "requestMethod": "POST", "jsonParameters": True, "options": {},
         "bodyParametersJson": "={\"email\": \"{{$json[\"email\"]}}\"}"},
     {"url": "http://localhost:5000/api/notifications/send-test-email/7", "body": {"email": "a@example.com"}}),
    (2, {"requestMethod": "PUT", "url": "https://h.test/x", "authentication": "none",
         "headerParametersUi": {"parameter": [{"name": "X-Trace", "value": "t1"}]},
         "bodyParametersUi": {"parameter": [{"name": "a", "value": "1"}, {"name": "a", "value": "2"}]},
         "options": {"bodyContentType": "form-urlencoded", "timeout": 2500, "ignoreResponseCode": True}},
     {"method": "PUT", "body": {"a": "2"}, "timeout_s": 2.5, "never_error": True}),
    (1, {"requestMethod": "POST", "url": "https://h.test/x", "jsonParameters": True,
         "bodyParametersJson": "<a>1</a>", "options": {"bodyContentType": "raw", "bodyContentCustomMimeType": "text/xml",
                                                      "followAllRedirects": True}},
     {"body": "<a>1</a>", "follow_redirects": True}),
    (1, {"url": "https://h.test/x", "queryParametersUi": {"parameter": [
        {"name": "tag", "value": "a"}, {"name": "tag", "value": "b"}]}, "options": {"followRedirect": False}},
     {"query": {"tag[]": ["a", "b"]}, "follow_redirects": False}),
    (1, {"url": "https://h.test/x", "jsonParameters": True, "queryParametersJson": "{\"tag\": [\"a\", \"b\"]}",
         "options": {"useQueryString": True}}, {"query": {"tag": ["a", "b"]}}),
    (1, {"requestMethod": "GET", "url": "https://h.test/x", "bodyParametersUi": {"parameter": [{"name": "a"}]}},
     {"body": None}),  # v1 sends body parameters with PATCH, POST, PUT and DELETE only
    # manual-wait-http.json (v3): a GET with no options; v3 follows no redirect unless told to.
    (3, {"url": "https://api.ipify.org?format=json", "options": {}},
     {"method": "GET", "url": "https://api.ipify.org?format=json", "query": {}, "body": None,
      "response_format": "autodetect", "follow_redirects": False}),
    (3, {"url": "https://h.test/x", "options": {"redirect": {"redirect": {"followRedirects": True}}}},
     {"follow_redirects": True}),
    (4, {"url": "https://h.test/x", "options": {}}, {"follow_redirects": True}),
    (4.1, {"url": "https://h.test/x", "options": {"redirect": {"redirect": {"followRedirects": False}}}},
     {"follow_redirects": False}),
    # "Buscar Vídeos YouTube" (v4): query fields; n8n's 4 JSON keypair bodies read names as paths.
    (4, {"url": "https://www.googleapis.com/youtube/v3/search", "method": "POST", "sendQuery": True,
         "queryParameters": {"parameters": [{"name": "part", "value": "snippet"}, {"name": "maxResults", "value": "50"}]},
         "sendBody": True, "bodyParameters": {"parameters": [{"name": "a.b", "value": "1"}, {"name": "c", "value": "2"}]},
         "options": {}},
     {"query": {"part": "snippet", "maxResults": "50"}, "body": {"a": {"b": "1"}, "c": "2"}}),
    (3, {"url": "https://h.test/x", "method": "POST", "sendBody": True,
         "bodyParameters": {"parameters": [{"name": "a.b", "value": "1"}]}}, {"body": {"a.b": "1"}}),
    (4.2, {"url": "https://h.test/x", "method": "POST", "sendBody": True, "contentType": "form-urlencoded",
           "specifyBody": "string", "body": "a=1&b=two%20words", "options": {"timeout": 1000}},
     {"body": {"a": "1", "b": "two words"}, "timeout_s": 1.0}),
    (4.2, {"url": "https://h.test/x", "method": "POST", "sendBody": True, "contentType": "raw",
           "rawContentType": "text/csv", "body": "a,b"}, {"body": "a,b"}),
    (4.2, {"url": "https://h.test/x", "method": "POST", "sendBody": True, "contentType": "multipart-form-data",
           "bodyParameters": {"parameters": [{"parameterType": "formData", "name": "f", "value": "v"},
                                             {"name": "g", "value": "w"}]}}, {"body": {"f": "v", "g": "w"}}),
    (4.2, {"url": "https://h.test/x", "sendQuery": True, "specifyQuery": "json",
           "jsonQuery": "={\"filter\": {\"a\": 1}, \"ids\": [1, 2]}", "options": {"queryParameterArrays": "indices"}},
     {"query": {"filter[a]": 1, "ids[0]": 1, "ids[1]": 2}}),
    (4.2, {"url": "https://h.test/x", "sendQuery": True, "queryParameters": {"parameters": [
        {"name": "t", "value": "a"}, {"name": "t", "value": "b"}]}}, {"query": {"t": "b"}}),
    (4.3, {"url": "https://h.test/x", "sendQuery": True, "queryParameters": {"parameters": [
        {"name": "t", "value": "a"}, {"name": "t", "value": "b"}]}, "options": {"queryParameterArrays": "repeat"}},
     {"query": {"t": ["a", "b"]}}),
    (4.2, {"url": "https://h.test/x", "options": {"response": {"response": {"neverError": True,
                                                                           "responseFormat": "text"}}}},
     {"never_error": True, "response_format": "text"}),
])
def test_requests(version: float, parameters: dict[str, Any], expected: dict[str, Any]) -> None:
    request = request_of(version, parameters)
    assert {k: request.get(k) for k in expected} == expected
    if not expected.get("never_error"):
        assert "never_error" not in request  # left out, so an agent that predates the field takes the request


@pytest.mark.parametrize(("version", "parameters", "expected"), [
    (1, V1_UI, {"accept": "application/json,text/html,application/xhtml+xml,application/xml,text/*;q=0.9, */*;q=0.1"}),
    (1, V1_JSON, {"accept": "application/json,text/*;q=0.99"}),
    (2, {"url": "https://h.test/x", "requestMethod": "POST", "headerParametersUi": {"parameter": [
        {"name": "X-Api", "value": "k"}, {"name": "Accept", "value": "text/csv"}]},
        "bodyParametersUi": {"parameter": [{"name": "a", "value": "1"}]},
        "options": {"bodyContentType": "multipart-form-data"}},
     {"x-api": "k", "accept": "text/csv", "content-type": "multipart/form-data"}),
    (1, {"url": "https://h.test/x", "requestMethod": "POST", "jsonParameters": True, "bodyParametersJson": "<a/>",
         "headerParametersJson": "{\"X-Up\": 1}", "options": {"bodyContentType": "raw",
                                                             "bodyContentCustomMimeType": "text/xml"}},
     {"X-Up": "1", "content-type": "text/xml", "accept": "application/json,text/*;q=0.99"}),
    # webhook-if-http-respond-elevenlabs.json's header fields (v4.2), lowercased as n8n does by default.
    (4.2, {"url": "https://h.test/x", "sendHeaders": True, "headerParameters": {"parameters": [
        {"name": "Content-Type", "value": "application/json"}, {"name": "Accept", "value": "audio/mpeg"}]}},
     {"content-type": "application/json", "accept": "audio/mpeg"}),
    (4.2, {"url": "https://h.test/x", "sendHeaders": True, "specifyHeaders": "json", "jsonHeaders": "{\"X-Up\": \"1\"}",
           "options": {"lowercaseHeaders": False, "response": {"response": {"responseFormat": "json"}}}},
     {"X-Up": "1", "accept": "application/json,text/*;q=0.99"}),
    (4.2, {"url": "https://h.test/x", "method": "POST", "sendBody": True, "contentType": "form-urlencoded",
           "bodyParameters": {"parameters": [{"name": "a", "value": "1"}]}},
     {"content-type": "application/x-www-form-urlencoded", "accept": "application/json,text/html,"
      "application/xhtml+xml,application/xml,text/*;q=0.9, image/*;q=0.8, */*;q=0.7"}),
])
def test_headers(version: float, parameters: dict[str, Any], expected: dict[str, str]) -> None:
    assert request_of(version, parameters)["headers"] == expected


@pytest.mark.parametrize(("version", "parameters", "message"), [
    (1, {"url": "https://h.test/x", "jsonParameters": True, "queryParametersJson": "{nope"},
     "parameter queryParametersJson is not valid JSON"),
    (1, {"url": "https://h.test/x", "jsonParameters": True, "headerParametersJson": "[1]"},
     "parameter headerParametersJson must be a JSON object"),
    (4.2, {"url": "https://h.test/x", "method": "POST", "sendBody": True, "specifyBody": "json", "jsonBody": "{x"},
     "parameter jsonBody is not valid JSON"),
    (4.2, {"url": "https://h.test/x", "method": "={{ 'FETCH' }}"}, "unknown request method 'FETCH'"),
])
def test_a_request_that_cannot_be_built_fails_the_node_naming_it(version: float, parameters: dict[str, Any],
                                                                 message: str) -> None:
    finish, _ = run(workflow(version, parameters), FakeTasks(lambda n, r: http_ok({})), TriggerInput(items=[{}]))
    assert finish.status == "failed" and "'HTTP Request'" in (finish.error or "") and message in (finish.error or "")


# -- responses -----------------------------------------------------------------------------------------------

LIST = [{"id": 1}, {"id": 2}]
FULL_META = {"headers": {"content-type": "application/json"}, "statusCode": 200, "statusMessage": "OK"}


def answer(body: Any, content_type: str = "application/json") -> str:
    return json.dumps({"status": 200, "status_message": "OK", "headers": {"content-type": content_type}, "body": body})


@pytest.mark.parametrize(("version", "parameters", "body", "items"), [
    (1, {}, {"a": 1}, [{"a": 1}]),
    (1, {}, LIST, [{"0": {"id": 1}, "1": {"id": 2}}]),  # one item, its json the array read by index
    (2, {"options": {"splitIntoItems": True}}, LIST, LIST),
    (1, {}, None, [{}]),
    (1, {"responseFormat": "string"}, "<html/>", [{"data": "<html/>"}]),
    (1, {"responseFormat": "string", "dataPropertyName": "page"}, "<html/>", [{"page": "<html/>"}]),
    (2, {"options": {"fullResponse": True}}, {"a": 1}, [{"body": {"a": 1}, **FULL_META}]),
    (1, {"responseFormat": "string", "options": {"fullResponse": True}}, "hi", [{"data": "hi", **FULL_META}]),
    (3, {}, {"a": 1}, [{"a": 1}]),
    (4.2, {}, LIST, LIST),
    (4.2, {}, [], []),  # an empty array gives no items, as in n8n
    (4.2, {}, "plain words", [{"data": "plain words"}]),  # autodetect: not JSON, so text
    (4.2, {}, "", [{}]),
    (4.2, {"options": {"response": {"response": {"fullResponse": True}}}}, {"a": 1}, [{"body": {"a": 1}, **FULL_META}]),
    (4.2, {"options": {"response": {"response": {"fullResponse": True}}}}, "hi", [{"data": "hi", **FULL_META}]),
    (4.2, {"options": {"response": {"response": {"responseFormat": "text", "outputPropertyName": "html"}}}},
     {"a": 1}, [{"html": "{\"a\":1}"}]),
    (4.1, {"options": {"response": {"response": {"responseFormat": "json"}}}}, "", [{}]),
])
def test_response_items(version: float, parameters: dict[str, Any], body: Any, items: list[dict[str, Any]]) -> None:
    tasks = FakeTasks(lambda n, r: answer(body))
    finish, state = run(workflow(version, {"url": "https://h.test/x", **parameters}), tasks, TriggerInput(items=[{}]))
    assert finish.status == "completed", finish.error
    assert outputs(state, "HTTP Request") == [items]


@pytest.mark.parametrize(("version", "parameters"), [
    (1, {"options": {"ignoreResponseCode": True}}),
    (4.2, {"options": {"response": {"response": {"neverError": True}}}}),
])
def test_a_failure_recorded_with_its_response_passes_when_the_node_never_errors(version: float,
                                                                               parameters: dict[str, Any]) -> None:
    wf = workflow(version, {"url": "https://h.test/x", **parameters})
    result = ItemResult(task_id="t", ok=False, error="HTTP 404",
                        output=json.dumps({"status": 404, "headers": {}, "body": {"missing": True}}))
    assert failure_passes(wf.node("HTTP Request"), result) == [{"missing": True}]
    assert failure_passes(workflow(version, {"url": "https://h.test/x"}).node("HTTP Request"), result) is None


# -- upload ----------------------------------------------------------------------------------------------------

def test_upload_names_what_cannot_run() -> None:
    nodes = [
        {**node(1, {"url": "https://h.test/a", "responseFormat": "file"}), "name": "File"},
        {**node(2, {"url": "https://h.test/a", "requestMethod": "POST", "jsonParameters": True,
                    "sendBinaryData": True, "options": {"bodyContentType": "raw"}}), "name": "Binary"},
        {**node(4.2, {"url": "https://h.test/a", "options": {"pagination": {"pagination": {
            "paginationMode": "responseContainsNextURL", "nextURL": "={{ $response.body.next }}"}}}}), "name": "Pages"},
        {**node(4.2, {"url": "https://h.test/a", "options": {"proxy": "http://proxy:3128"}}), "name": "Proxy"},
        {**node(4.2, {"url": "https://h.test/a", "method": "POST", "sendBody": True, "contentType": "multipart-form-data",
                      "bodyParameters": {"parameters": [{"parameterType": "formBinaryData", "name": "f",
                                                         "inputDataFieldName": "data"}]}}), "name": "Upload"},
        {**node(4.2, {"url": "https://h.test/a", "method": "FETCH"}), "name": "Method"},
        {**node(1, {}), "name": "No URL"},
    ]
    with pytest.raises(InvalidWorkflow) as caught:
        validate(parse_workflow({"nodes": [TRIGGER, *nodes], "connections": {}}))
    found = {(p.node, p.field): p.message for p in caught.value.problems}
    assert "responseFormat file" in found[("File", "$.nodes[1].parameters.responseFormat")]
    assert "binary data" in found[("Binary", "$.nodes[2].parameters.sendBinaryData")]
    assert "pagination is not supported" in found[("Pages", "$.nodes[3].parameters.options.pagination")]
    assert "proxy is not supported" in found[("Proxy", "$.nodes[4].parameters.options.proxy")]
    assert "binary form field" in found[("Upload", "$.nodes[5].parameters.bodyParameters.parameters[0].parameterType")]
    assert "unknown request method 'FETCH'" in found[("Method", "$.nodes[6].parameters.method")]
    assert found[("No URL", "$.nodes[7].parameters.url")] == "required parameter url is missing"
    assert len(found) == 7


def test_pagination_off_and_batching_are_accepted() -> None:
    validate(workflow(4.2, {"url": "https://h.test/a", "options": {
        "pagination": {"pagination": {"paginationMode": "off"}},
        "batching": {"batch": {"batchSize": 1, "batchInterval": 100}}}}))
    validate(workflow(1, {"url": "https://h.test/a", "options": {"batchSize": 5, "batchInterval": 100}}))
