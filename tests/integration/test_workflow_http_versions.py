"""HTTP Request nodes of typeVersion 1 and 4.2 run by the coordinator on a real sidecar's http executor against a
local HTTP server: v1's UI parameters with a multipart body, then v4.2's JSON query with a full response that
never errors on a 404."""

from __future__ import annotations

from typing import Any

from core.settings import Settings
from tests.fakes.http_target import HttpTarget
from tests.integration.fleet_stack import fleet
from tests.integration.test_workflow_executions import START, connections, finished, link, node, run_workflow


def document(url: str) -> dict[str, Any]:
    register = {"name": "Register (v1)", "type": "n8n-nodes-base.httpRequest", "typeVersion": 1, "parameters": {
        "url": f"{url}/echo", "requestMethod": "POST", "responseFormat": "json",
        "options": {"bodyContentType": "multipart-form-data"},
        "queryParametersUi": {"parameter": [{"name": "src", "value": "hive"}]},
        "headerParametersUi": {"parameter": [{"name": "X-Isin", "value": "={{$json[\"isin\"]}}"}]},
        "bodyParametersUi": {"parameter": [{"name": "isin", "value": "={{$json[\"isin\"]}}"},
                                           {"name": "note", "value": "two words"}]}}}
    check = {"name": "Check (v4.2)", "type": "n8n-nodes-base.httpRequest", "typeVersion": 4.2, "parameters": {
        "url": f"{url}/status/404", "sendQuery": True, "specifyQuery": "json",
        "jsonQuery": "={{ JSON.stringify({ seen: $json.method, tags: ['a', 'b'] }) }}",
        "options": {"response": {"response": {"fullResponse": True, "neverError": True}}}}}
    return {"nodes": [START, register, check],
            "connections": connections(link("Start", "Register (v1)"), link("Register (v1)", "Check (v4.2)"))}


async def test_v1_and_v4_requests_through_the_http_executor(settings: Settings) -> None:
    async with HttpTarget() as target, fleet(settings) as f:
        await f.sidecar(http={"allowed_hosts": [f"127.0.0.1:{target.port}"]})
        started = await run_workflow(f, document(target.url), {"items": [{"isin": "DE0007164600"}]})
        done = await finished(f, started["id"])
        assert done["status"] == "completed", done

        register, check = target.requests
        assert register["method"] == "POST" and register["query"] == {"src": ["hive"]}
        assert register["headers"]["x-isin"] == "DE0007164600"
        assert register["headers"]["accept"] == "application/json,text/*;q=0.99"
        content_type = register["headers"]["content-type"]
        assert content_type.startswith("multipart/form-data; boundary=")
        boundary = content_type.split("boundary=", 1)[1]
        assert register["body"] == (
            f'--{boundary}\r\nContent-Disposition: form-data; name="isin"\r\n\r\nDE0007164600\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="note"\r\n\r\ntwo words\r\n--{boundary}--\r\n')
        # v1 with responseFormat json: the parsed body is the item.
        (echoed,) = node(done, "Register (v1)")["outputs"][0]
        assert echoed["json"]["path"] == "/echo" and echoed["json"]["query"] == {"src": ["hive"]}

        # v4.2: the JSON query built from the v1 item, arrays as brackets; a 404 kept as an item with its status.
        assert check["method"] == "GET" and check["query"] == {"seen": ["POST"], "tags[]": ["a", "b"]}
        checked = node(done, "Check (v4.2)")
        # The request said never_error, so the agent reported the 404 as a success: no failed task, no retry.
        assert (await f.task(checked["task_ids"][0]))["status"] == "completed"
        (item,) = checked["outputs"][0]
        assert item["json"]["statusCode"] == 404 and item["json"]["statusMessage"] == "Whatever"
        assert item["json"]["body"] == {"error": "status 404", "method": "GET"}
        assert item["json"]["headers"]["x-target"] == "yes"
        assert done["result"] == [{"json": item["json"]}]
