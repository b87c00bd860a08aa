"""The http executor's credentials against a real local HTTP server: each type arrives as the server expects, a
credential the agent lacks or may not send to that host fails for good naming it, a redirect to another origin goes
without it, and no secret is in what the task reports (output, errors), even when the server echoes it back."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from agent_sidecar.config import parse_config
from agent_sidecar.executors.http_request import HttpExecutor
from core.messages import Dispatch
from tests.fakes.http_target import HttpTarget

# Quotes and a backslash: JSON escapes them, so the output must be redacted before it is encoded, not after.
SECRETS = {"HEADER_KEY": 'hdr-"s3cret"\\1', "TOKEN": "tok-s3cret-2", "PASSWORD": "pw s3cret/3", "QUERY_KEY": "q&s3cret=4",
           "CUSTOM_KEY": "cst-s3cret-5"}
CREDENTIALS = {
    "ElevenLabs": {"type": "header", "name": "xi-api-key", "value_env": "HEADER_KEY"},
    "Tunova API key": {"type": "bearer", "token_env": "TOKEN"},
    "Basic account": {"type": "basic", "user": "hive", "password_env": "PASSWORD"},
    "Query key": {"type": "query", "name": "api_key", "value_env": "QUERY_KEY"},
    "Custom Auth account": {"type": "custom", "headers_env": {"X-Custom": "CUSTOM_KEY"}, "query": {"v": "2"}},
}


@pytest.fixture
async def target() -> AsyncIterator[HttpTarget]:
    async with HttpTarget() as server:
        yield server


def executor(allowed: list[str], credentials: dict[str, Any] | None = None) -> HttpExecutor:
    config = parse_config({"agent_id": "gpu-07", "http": {"allowed_hosts": allowed,
                                                         "credentials": credentials or CREDENTIALS}}, environ=SECRETS)
    assert config.http is not None
    return HttpExecutor(config.http, config.agent_id)


def job(credential: str | None, **request: Any) -> Dispatch:
    if credential is not None:
        request["credential"] = {"name": credential, "id": "n8n-id-1", "type": "httpHeaderAuth"}
    return Dispatch(task_id="t", attempt=1, title="t", payload={"kind": "http", "request": request})


def carries_secret(text: str) -> bool:
    """Whether a secret is in `text`, as it is or as JSON writes it."""
    secrets = [*SECRETS.values(), base64.b64encode(b"hive:" + SECRETS["PASSWORD"].encode()).decode()]
    return any(s in text or orjson.dumps(s).decode()[1:-1] in text for s in secrets)


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        assert not carries_secret(text), text


@pytest.mark.parametrize(("name", "headers", "query"), [
    ("ElevenLabs", {"xi-api-key": SECRETS["HEADER_KEY"]}, {}),
    ("Tunova API key", {"authorization": f"Bearer {SECRETS['TOKEN']}"}, {}),
    ("Basic account", {"authorization": "Basic " + base64.b64encode(b"hive:pw s3cret/3").decode()}, {}),
    ("Query key", {}, {"api_key": [SECRETS["QUERY_KEY"]]}),
    ("Custom Auth account", {"x-custom": SECRETS["CUSTOM_KEY"]}, {"v": ["2"]}),
])
async def test_each_credential_type_arrives_and_the_echo_is_redacted(target: HttpTarget, name: str,
                                                                     headers: dict[str, str],
                                                                     query: dict[str, list[str]]) -> None:
    result = await executor([f"127.0.0.1:{target.port}"]).run(
        job(name, url=f"{target.url}/echo?keep=1", headers={"X-Node": "n", "xi-api-key": "from-the-node"}), None)
    assert result.ok, result.error
    (seen,) = target.requests
    assert {k: seen["headers"].get(k) for k in headers} == headers
    assert seen["query"] == {"keep": ["1"], **query}
    assert seen["headers"]["x-node"] == "n"
    if name != "ElevenLabs":
        assert seen["headers"]["xi-api-key"] == "from-the-node"  # only the credential's own names are replaced
    # /echo sends the request back as the body: the output has the credential's values replaced.
    assert_no_secret(result.output)
    assert "[redacted]" in result.output


async def test_a_credential_the_agent_lacks_fails_for_good_naming_it_and_the_agent(target: HttpTarget) -> None:
    result = await executor([f"127.0.0.1:{target.port}"]).run(job("Somebody elses key", url=f"{target.url}/echo"),
                                                             None)
    assert not result.ok and not result.retryable
    assert "credential 'Somebody elses key' (httpHeaderAuth, id n8n-id-1) is not configured on agent gpu-07" \
        in result.error
    assert target.requests == []  # nothing was sent unauthenticated


async def test_names_match_as_their_capability_does(target: HttpTarget) -> None:
    result = await executor([f"127.0.0.1:{target.port}"]).run(job("tunova-api-key", url=f"{target.url}/echo"), None)
    assert result.ok, result.error
    assert target.requests[0]["headers"]["authorization"] == f"Bearer {SECRETS['TOKEN']}"


async def test_a_credential_goes_only_to_its_hosts(target: HttpTarget) -> None:
    held = {"Pinned": {"type": "header", "name": "X-Key", "value": "pinned-s3cret", "hosts": ["api.example.com"]}}
    result = await executor([f"127.0.0.1:{target.port}"], held).run(job("Pinned", url=f"{target.url}/echo"), None)
    assert not result.ok and not result.retryable
    assert f"credential 'Pinned' may not be sent to 127.0.0.1:{target.port} (its hosts: api.example.com)" in result.error
    assert target.requests == []


@pytest.mark.parametrize("name", ["ElevenLabs", "Basic account", "Query key", "Custom Auth account"])
async def test_a_redirect_to_another_host_drops_the_credential(target: HttpTarget, name: str) -> None:
    # localhost is another host name for the same server: the second request is seen, without the credential.
    other = f"http://localhost:{target.port}/echo"
    run = executor([f"127.0.0.1:{target.port}", f"localhost:{target.port}"]).run
    result = await run(job(name, url=f"{target.url}/redirect", query={"to": other}), None)
    assert result.ok, result.error
    first, second = target.requests
    assert second["headers"]["host"] == f"localhost:{target.port}"
    assert carries_secret(orjson.dumps(first).decode())
    assert_no_secret(orjson.dumps(second).decode())
    assert "authorization" not in second["headers"] and "api_key" not in second["query"]


async def test_a_redirect_on_the_same_origin_keeps_the_header_credential(target: HttpTarget) -> None:
    result = await executor([f"127.0.0.1:{target.port}"]).run(
        job("ElevenLabs", url=f"{target.url}/redirect", query={"to": "/echo"}), None)
    assert result.ok, result.error
    assert [r["headers"].get("xi-api-key") for r in target.requests] == [SECRETS["HEADER_KEY"]] * 2


async def test_errors_and_error_output_carry_no_secret(target: HttpTarget) -> None:
    run = executor([f"127.0.0.1:{target.port}"]).run
    refused = await run(job("Query key", url=f"{target.url}/status/403"), None)
    assert not refused.ok and not refused.retryable and "answered 403" in refused.error
    assert_no_secret(refused.error, refused.output)
    assert target.requests[0]["query"] == {"api_key": [SECRETS["QUERY_KEY"]]}
    off_list = await run(job("Query key", url=f"{target.url}/redirect", query={"to": "http://127.0.0.1:1/x"}), None)
    assert not off_list.ok and "127.0.0.1:1 is not in" in off_list.error
    assert_no_secret(off_list.error, off_list.output)
