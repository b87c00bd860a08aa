"""The sidecar's http executor against real local HTTP and HTTPS servers: requests as the task describes them,
responses as output, the allowlist, redirects, limits, timeouts and cancellation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from agent_sidecar.executors.http_request import HttpExecutor
from agent_sidecar.kind_config import HttpConfig
from core.dev.ports import free_port
from core.messages import Dispatch
from tests.fakes.http_target import HttpTarget
from tests.helpers import wait_until


@pytest.fixture
async def target() -> AsyncIterator[HttpTarget]:
    async with HttpTarget() as server:
        yield server


def executor(target: HttpTarget, **config: Any) -> HttpExecutor:
    config.setdefault("allowed_hosts", [f"127.0.0.1:{target.port}"])
    return HttpExecutor(HttpConfig(**config))


def job(**request: Any) -> Dispatch:
    return Dispatch(task_id="t", attempt=1, title="t", payload={"kind": "http", "request": request})


async def test_a_get_with_query_and_headers_returns_status_headers_and_json_body(target: HttpTarget) -> None:
    result = await executor(target).run(job(url=f"{target.url}/echo?a=1", query={"b": "two", "c": [3, True]},
                                            headers={"X-Trace": "abc"}), None)
    assert result.ok, result.error
    output = orjson.loads(result.output)
    assert output["status"] == 200 and output["status_message"] == "Whatever"
    assert output["headers"]["x-target"] == "yes"
    seen = output["body"]  # autodetect: the server said application/json
    assert seen["method"] == "GET" and seen["path"] == "/echo"
    assert seen["query"] == {"a": ["1"], "b": ["two"], "c": ["3", "true"]}
    assert seen["headers"]["x-trace"] == "abc" and seen["headers"]["host"] == f"127.0.0.1:{target.port}"
    assert result.metrics["http_status"] == 200.0


async def test_an_object_body_is_sent_as_json_and_a_string_as_text(target: HttpTarget) -> None:
    run = executor(target).run
    as_json = orjson.loads((await run(job(method="post", url=f"{target.url}/echo", body={"n": [1, 2]}), None)).output)
    assert as_json["body"]["method"] == "POST" and orjson.loads(as_json["body"]["body"]) == {"n": [1, 2]}
    assert as_json["body"]["headers"]["content-type"] == "application/json"
    as_text = orjson.loads((await run(job(method="PUT", url=f"{target.url}/echo", body="plain words",
                                          headers={"Content-Type": "text/csv"}), None)).output)
    assert as_text["body"]["body"] == "plain words" and as_text["body"]["headers"]["content-type"] == "text/csv"
    form = "application/x-www-form-urlencoded"
    as_form = orjson.loads((await run(job(method="POST", url=f"{target.url}/echo", body={"a": "1 2", "b": True},
                                          headers={"Content-Type": form}), None)).output)
    assert as_form["body"]["body"] == "a=1+2&b=true"


async def test_response_formats(target: HttpTarget) -> None:
    run = executor(target).run
    text = await run(job(url=f"{target.url}/text"), None)
    assert orjson.loads(text.output)["body"] == "plain text ✓"
    forced = await run(job(url=f"{target.url}/echo", response_format="text"), None)
    assert isinstance(orjson.loads(forced.output)["body"], str)
    mislabelled = await run(job(url=f"{target.url}/not-json"), None)
    assert orjson.loads(mislabelled.output)["body"] == "<html>surprise</html>"  # autodetect keeps it as text
    strict = await run(job(url=f"{target.url}/not-json", response_format="json"), None)
    assert not strict.ok and not strict.retryable and "is not JSON" in strict.error
    chunked = await run(job(url=f"{target.url}/chunked"), None)
    assert orjson.loads(chunked.output)["body"] == {"chunked": True}
    head = await run(job(method="HEAD", url=f"{target.url}/echo"), None)
    assert head.ok and orjson.loads(head.output)["body"] == ""


async def test_non_2xx_fails_with_the_response_as_output_and_only_5xx_retryable(target: HttpTarget) -> None:
    run = executor(target).run
    missing = await run(job(url=f"{target.url}/status/404"), None)
    assert not missing.ok and not missing.retryable and "answered 404" in missing.error
    assert orjson.loads(missing.output)["status"] == 404
    assert orjson.loads(missing.output)["body"] == {"error": "status 404", "method": "GET"}
    down = await run(job(url=f"{target.url}/status/503"), None)
    assert not down.ok and down.retryable and orjson.loads(down.output)["status"] == 503


async def test_never_error_answers_any_status_as_a_success(target: HttpTarget) -> None:
    kept = await executor(target).run(job(url=f"{target.url}/status/503", never_error=True), None)
    assert kept.ok and orjson.loads(kept.output)["status"] == 503  # a success: the task is not retried


async def test_a_multipart_form_body(target: HttpTarget) -> None:
    fields = {"a": "1", "tags": ["x", "y"], "on": True}
    sent = [await executor(target).run(job(method="POST", url=f"{target.url}/echo", body=fields,
                                           headers={"Content-Type": "multipart/form-data"}), None) for _ in range(2)]
    first, again = (orjson.loads(r.output)["body"] for r in sent)
    content_type = first["headers"]["content-type"]
    boundary = content_type.split("; boundary=", 1)[1]
    assert content_type.startswith("multipart/form-data; boundary=hive-")
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{n}"\r\n\r\n{v}\r\n'
             for n, v in (("a", "1"), ("tags", "x"), ("tags", "y"), ("on", "true"))]
    assert first["body"] == "".join(parts) + f"--{boundary}--\r\n"
    assert again["body"] == first["body"]  # the boundary comes from the fields: a retry sends the same bytes


async def test_hosts_off_the_allowlist_are_refused_before_any_connection(target: HttpTarget) -> None:
    run = executor(target, allowed_hosts=["127.0.0.1:1"]).run
    result = await run(job(url=f"{target.url}/echo"), None)
    assert not result.ok and not result.retryable
    assert f"host 127.0.0.1:{target.port} is not in this agent's [http] allowed_hosts (127.0.0.1:1)" in result.error
    named = await executor(target).run(job(url=f"http://localhost:{target.port}/echo"), None)
    assert not named.ok and "host localhost" in named.error  # names, not addresses: localhost is not 127.0.0.1
    assert target.requests == []


async def test_redirects_are_followed_only_to_allowed_hosts(target: HttpTarget) -> None:
    run = executor(target).run
    hop = await run(job(method="POST", url=f"{target.url}/redirect", query={"to": "/echo?after=1", "code": "303"},
                        body={"x": 1}, headers={"Authorization": "Bearer t"}), None)
    assert hop.ok, hop.error
    seen = orjson.loads(hop.output)["body"]
    assert (seen["method"], seen["query"], seen["body"]) == ("GET", {"after": ["1"]}, "")  # 303: GET, no body
    assert seen["headers"]["authorization"] == "Bearer t"  # same host: credentials kept
    off = await run(job(url=f"{target.url}/redirect", query={"to": "http://127.0.0.1:1/x"}), None)
    assert not off.ok and not off.retryable and "127.0.0.1:1 is not in" in off.error
    unfollowed = await run(job(url=f"{target.url}/redirect", query={"to": "/echo"}, follow_redirects=False), None)
    assert not unfollowed.ok and not unfollowed.retryable and orjson.loads(unfollowed.output)["status"] == 302
    looping = await executor(target, max_redirects=2).run(
        job(url=f"{target.url}/redirect", query={"to": f"/redirect?to=/redirect%3Fto%3D/redirect%253Fto%253D/echo"}),
        None)
    assert not looping.ok and "more than 2 redirects" in looping.error


async def test_credentials_are_not_carried_to_another_host(target: HttpTarget) -> None:
    async with HttpTarget() as other:
        run = HttpExecutor(HttpConfig(allowed_hosts=[f"127.0.0.1:{target.port}", f"127.0.0.1:{other.port}"])).run
        result = await run(job(url=f"{target.url}/redirect", query={"to": f"{other.url}/echo"},
                               headers={"Authorization": "Bearer t", "X-Keep": "1"}), None)
    assert result.ok, result.error
    headers = orjson.loads(result.output)["body"]["headers"]
    assert "authorization" not in headers and headers["x-keep"] == "1"


async def test_a_body_over_the_limit_fails_for_good(target: HttpTarget) -> None:
    run = executor(target, max_response_bytes=1000).run
    assert (await run(job(url=f"{target.url}/bytes/1000"), None)).ok
    big = await run(job(url=f"{target.url}/bytes/1001"), None)
    assert not big.ok and not big.retryable and "larger than max_response_bytes (1000)" in big.error


async def test_slow_and_unreachable_hosts_are_retryable(target: HttpTarget) -> None:
    slow = await executor(target, timeout_s=30).run(job(url=f"{target.url}/hang", timeout_s=0.3), None)
    assert not slow.ok and slow.retryable and "no full answer within 0.3s" in slow.error
    await wait_until(lambda: target.hangups == 1, what="the timed-out connection closed")
    port = free_port()
    closed = await HttpExecutor(HttpConfig(allowed_hosts=[f"127.0.0.1:{port}"])).run(
        job(url=f"http://127.0.0.1:{port}/"), None)
    assert not closed.ok and closed.retryable and "failed" in closed.error


async def test_cancelling_the_run_closes_the_connection(target: HttpTarget) -> None:
    running = asyncio.create_task(executor(target).run(job(url=f"{target.url}/hang"), None))
    await wait_until(lambda: len(target.requests) == 1, what="the request to arrive")
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    await wait_until(lambda: target.hangups == 1, what="the connection closed")


@pytest.mark.parametrize(("request_fields", "where"), [
    ({}, "`$.payload.request`"),
    ({"url": "ftp://x/"}, "`$.payload.request.url`"),
    ({"url": "http://127.0.0.1/", "method": "BREW"}, "`$.payload.request.method`"),
    ({"url": "http://127.0.0.1/", "headers": {"Host": "internal"}}, "`$.payload.request.headers.Host`"),
    ({"url": "http://127.0.0.1/", "headers": {"X-A": "1\r\nX-B: 2"}}, "`$.payload.request.headers.X-A`"),
    ({"url": "http://127.0.0.1/", "timeout_s": -1}, "`$.payload.request.timeout_s`"),
    ({"url": "http://127.0.0.1/", "verb": "GET"}, "`$.payload.request`"),
])
async def test_malformed_requests_fail_for_good_naming_the_field(request_fields: dict[str, Any], where: str) -> None:
    payload: dict[str, Any] = {"kind": "http"}
    if request_fields:
        payload["request"] = request_fields
    result = await HttpExecutor(HttpConfig(allowed_hosts=["*"])).run(
        Dispatch(task_id="t", attempt=1, title="t", payload=payload), None)
    assert not result.ok and not result.retryable
    assert where in result.error


async def test_https_with_the_agents_ca_file() -> None:
    async with HttpTarget(tls=True) as secure:
        allowed = [f"127.0.0.1:{secure.port}"]
        trusted = await HttpExecutor(HttpConfig(allowed_hosts=allowed, ca_file=secure.ca_file)).run(
            job(url=f"{secure.url}/echo"), None)
        assert trusted.ok, trusted.error
        assert orjson.loads(trusted.output)["body"]["path"] == "/echo"
        untrusted = await HttpExecutor(HttpConfig(allowed_hosts=allowed)).run(job(url=f"{secure.url}/echo"), None)
        assert not untrusted.ok and "CERTIFICATE_VERIFY_FAILED" in untrusted.error
