"""n8n credentials on a real fleet (gateway, coordinator, projector and sidecars in this process on a real NATS and
PostgreSQL, a local HTTP server standing in for the outside hosts): HTTP Request nodes of v1, v2 and v4.2 send
header, basic and query auth from the agent's own config; only the agent holding the credential is given their
tasks; a redirect to another host goes without it; a task naming a credential its agent lacks fails for good, naming
both; and no secret is anywhere in the event log."""

from __future__ import annotations

import base64
from typing import Any

import orjson

from core.settings import Settings
from core.store.connect import connect
from tests.fakes.http_target import HttpTarget
from tests.integration.fleet_stack import Fleet, fleet
from tests.integration.test_workflow_executions import START, connections, finished, link, node, run_workflow

HEADER_KEY, PASSWORD, QUERY_KEY = 'hdr-"s3cret"-1', "pw-s3cret-2", "q-s3cret-3"
BASIC = base64.b64encode(f"hive:{PASSWORD}".encode()).decode()
SECRETS = [HEADER_KEY, PASSWORD, QUERY_KEY, BASIC]


def http(name: str, version: float, parameters: dict[str, Any], credentials: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "type": "n8n-nodes-base.httpRequest", "typeVersion": version, "parameters": parameters,
            "credentials": credentials}


def document(url: str, other: str) -> dict[str, Any]:
    header = http("Header (v4.2)", 4.2, {"url": f"{url}/echo", "authentication": "genericCredentialType",
                                         "genericAuthType": "httpHeaderAuth"},
                  {"httpHeaderAuth": {"id": "h1", "name": "ElevenLabs"}})
    basic = http("Basic (v1)", 1, {"url": f"{url}/echo", "authentication": "basicAuth"},
                 {"httpBasicAuth": {"id": "b1", "name": "Basic account"}})
    query = http("Query (v2)", 2, {"url": f"{url}/echo", "authentication": "genericCredentialType",
                                   "genericAuthType": "httpQueryAuth"},
                 {"httpQueryAuth": {"id": "q1", "name": "Query key"}})
    # Redirected to `other`, another host name for the same server: the second request must go without the key.
    moved = http("Moved (v4.2)", 4.2, {"url": f"{url}/redirect", "sendQuery": True, "queryParameters": {
        "parameters": [{"name": "to", "value": f"{other}/echo"}]}, "authentication": "genericCredentialType",
        "genericAuthType": "httpHeaderAuth"}, {"httpHeaderAuth": {"id": "h1", "name": "ElevenLabs"}})
    names = ["Start", "Header (v4.2)", "Basic (v1)", "Query (v2)", "Moved (v4.2)"]
    return {"nodes": [START, header, basic, query, moved],
            "connections": connections(*(link(a, b) for a, b in zip(names, names[1:], strict=False)))}


def holder_config(target: HttpTarget) -> dict[str, Any]:
    return {"allowed_hosts": [f"127.0.0.1:{target.port}", f"localhost:{target.port}"], "credentials": {
        "ElevenLabs": {"type": "header", "name": "xi-api-key", "value": HEADER_KEY},
        "Basic account": {"type": "basic", "user": "hive", "password": PASSWORD},
        "Query key": {"type": "query", "name": "api_key", "value": QUERY_KEY}}}


def secret_in(data: bytes) -> str | None:
    for secret in SECRETS:
        for form in (secret.encode(), orjson.dumps(secret)[1:-1]):
            if form in data:
                return secret
    return None


async def event_log_secrets(f: Fleet) -> list[tuple[int, str]]:
    """(sequence, secret) for every stored event that holds a secret, in its payload or its headers."""
    nc, js = await connect(f.settings, "secret-scan")
    try:
        last = (await js.stream_info(f.settings.events_stream)).state.last_seq
        found = []
        for seq in range(1, last + 1):
            msg = await js.get_msg(f.settings.events_stream, seq)
            leaked = secret_in(msg.data + orjson.dumps(msg.headers or {}))
            if leaked:
                found.append((seq, leaked))
        return found
    finally:
        await nc.close()


async def test_credentials_arrive_only_from_their_holder_and_never_reach_the_log(settings: Settings) -> None:
    async with HttpTarget() as target, fleet(settings) as f:
        # The plain agent has more free slots, so it would win any task it is allowed to take.
        plain = await f.sidecar(max_concurrency=4, http={"allowed_hosts": ["*"]})
        holder = await f.sidecar(max_concurrency=1, http=holder_config(target))
        done = await finished(f, (await run_workflow(
            f, document(target.url, f"http://localhost:{target.port}"), {"items": [{"n": 1}]}))["id"])
        assert done["status"] == "completed", done

        header, basic, query, moved, moved_on = target.requests
        assert header["headers"]["xi-api-key"] == HEADER_KEY
        assert basic["headers"]["authorization"] == f"Basic {BASIC}"
        assert query["query"] == {"api_key": [QUERY_KEY]}
        assert moved["headers"]["xi-api-key"] == HEADER_KEY and moved["path"] == "/redirect"
        assert moved_on["headers"]["host"] == f"localhost:{target.port}" and "xi-api-key" not in moved_on["headers"]

        for name in ("Header (v4.2)", "Basic (v1)", "Query (v2)", "Moved (v4.2)"):
            (task_id,) = node(done, name)["task_ids"]
            task = await f.task(task_id)
            assert task["assigned_agent_id"] == holder.agent_id != plain.agent_id
            assert any(c.startswith("http.cred.") for c in task["capabilities"])
        # The echoed requests are the nodes' items, with the secrets replaced.
        (echoed,) = node(done, "Header (v4.2)")["outputs"][0]
        assert echoed["json"]["headers"]["xi-api-key"] == "[redacted]"

        assert await event_log_secrets(f) == []


async def test_a_credential_its_agent_lacks_fails_the_task_for_good(settings: Settings) -> None:
    async with HttpTarget() as target, fleet(settings) as f:
        agent = await f.sidecar(http=holder_config(target))
        created = await f.create(capabilities=["http"], max_attempts=3, payload={"kind": "http", "request": {
            "url": f"{target.url}/echo", "credential": {"name": "Stripe live", "id": "s1", "type": "httpHeaderAuth"}}})
        failed = await f.reaches(created["id"], "failed")
        assert failed["attempt"] == 1  # not retried: another attempt would fail the same way
        assert (f"credential 'Stripe live' (httpHeaderAuth, id s1) is not configured on agent {agent.agent_id}"
                in failed["error"])
        assert target.requests == []
