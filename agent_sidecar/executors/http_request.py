"""The `http` executor: one HTTP request per task, to a host on the agent's allowlist, with its response as output;
a credential the task names is applied here, from the agent's own config."""

from __future__ import annotations

import asyncio
import logging
import ssl
from urllib.parse import urljoin, urlsplit

import msgspec
import orjson

from agent_sidecar.allowlist import HostPattern, allowed, parse_pattern
from agent_sidecar.executors import http11
from agent_sidecar.executors.base import ExecutionResult, OnChunk
from agent_sidecar.executors.http_auth import AppliedCredential, CredentialRefused, Credentials, origin
from agent_sidecar.executors.http_spec import HttpRequestSpec, PayloadError, decode_request, encode_body, \
    shape_response, target_url
from agent_sidecar.kind_config import HttpConfig
from core.messages import Dispatch

log = logging.getLogger(__name__)
_REDIRECTS = {301, 302, 303, 307, 308}
# Responses that never carry a body, whatever their headers say.
_NO_BODY = {204, 304}


class Refused(Exception):
    """The request may not be made at all (a host off the allowlist, a body too large): not retryable."""


class _Answer:
    def __init__(self, status: int, reason: str, headers: dict[str, str], body: bytes, url: str) -> None:
        self.status, self.reason, self.headers, self.body, self.url = status, reason, headers, body, url


class HttpExecutor:
    name = "http"

    def __init__(self, config: HttpConfig, agent_id: str = "") -> None:
        self.config = config
        self._patterns: list[HostPattern] = [parse_pattern(p) for p in config.allowed_hosts]
        self._ssl: ssl.SSLContext | None = None
        self._credentials = Credentials(config.credentials, agent_id)

    def _tls(self) -> ssl.SSLContext:
        if self._ssl is None:  # built on first use: loading CAs costs milliseconds an http-only agent need not pay
            self._ssl = ssl.create_default_context()
            if self.config.ca_file:
                self._ssl.load_verify_locations(self.config.ca_file)
        return self._ssl

    def check(self, url: str) -> None:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        host = parts.hostname or ""
        if not allowed(self._patterns, host, port):
            raise Refused(f"host {host}:{port} is not in this agent's [http] allowed_hosts "
                          f"({', '.join(self.config.allowed_hosts) or 'empty'})")

    async def run(self, job: Dispatch, on_chunk: OnChunk | None) -> ExecutionResult:
        try:
            spec = decode_request(job.payload)
            url = target_url(spec)
            self.check(url)
            credential = self._credentials.find(spec.credential) if spec.credential is not None else None
            if credential is not None:
                credential.check(url)
        except (PayloadError, Refused, CredentialRefused) as err:
            return ExecutionResult.failure(f"http: {err}", retryable=False)
        if credential is None:
            return await self._request(spec, url, None)
        try:
            result = await self._request(spec, url, credential)
        except Exception as err:  # noqa: BLE001 - its message could hold a secret: never let it reach a log raw
            message = credential.redact(f"http: {spec.method} {url} failed unexpectedly: {err!r}")
            log.error("%s", message)
            return ExecutionResult.failure(message, retryable=False)
        # Output and error were built without secrets; this is the net under that.
        return msgspec.structs.replace(result, output=credential.redact(result.output),
                                       error=credential.redact(result.error))

    async def _request(self, spec: HttpRequestSpec, url: str, credential: AppliedCredential | None) -> ExecutionResult:
        limit = min(spec.timeout_s or self.config.timeout_s, self.config.timeout_s)
        try:
            async with asyncio.timeout(limit):
                answer = await self._follow(spec, url, credential)
        except Refused as err:
            return ExecutionResult.failure(f"http: {err}", retryable=False)
        except TimeoutError:
            return ExecutionResult.failure(f"http: {spec.method} {url} got no full answer within {limit:g}s",
                                           retryable=True)
        except (OSError, http11.HttpError, ValueError) as err:
            return ExecutionResult.failure(f"http: {spec.method} {url} failed: {err or type(err).__name__}",
                                           retryable=True)
        return self._result(spec, answer, credential)

    def _result(self, spec: HttpRequestSpec, answer: _Answer, credential: AppliedCredential | None) -> ExecutionResult:
        try:
            shaped = shape_response(answer.status, answer.reason, answer.headers, answer.body, spec.response_format)
        except PayloadError as err:
            return ExecutionResult.failure(f"http: {err}", retryable=False)
        if credential is not None:  # a server that echoes the request must not get the secret into the output
            shaped = credential.redact_value(shaped)
        output = orjson.dumps(shaped).decode()
        metrics = {"http_status": float(answer.status), "response_bytes": float(len(answer.body))}
        if 200 <= answer.status < 300 or spec.never_error:
            return ExecutionResult.success(output, metrics=metrics)
        # 5xx may pass on a retry; a 4xx (or an unfollowed 3xx) will be the same answer next time.
        return ExecutionResult.failure(f"http: {spec.method} {answer.url} answered {answer.status} {answer.reason}".rstrip(),
                                       retryable=answer.status >= 500, output=output)

    async def _follow(self, spec: HttpRequestSpec, url: str, credential: AppliedCredential | None) -> _Answer:
        method = spec.method
        body, headers = encode_body(spec)
        home = origin(url)
        for hop in range(self.config.max_redirects + 1):
            send_url, send_headers = url, headers
            if credential is not None and origin(url) == home:
                # Only to the origin it was checked for: a redirect elsewhere (another host, port, or http after
                # https) goes without it. Query parameters on the first request only, as the URL it was given.
                send_url, send_headers = credential.apply(url, headers, with_query=hop == 0)
            answer = await self._once(method, send_url, body, send_headers)
            answer.url = url  # what messages show: never the credential's query parameters
            location = answer.headers.get("location")
            if not spec.follow_redirects or answer.status not in _REDIRECTS or not location:
                return answer
            next_url = urljoin(url, location)
            self.check(next_url)  # every hop is checked: an allowed host may not redirect us off the list
            if answer.status == 303 or (answer.status in (301, 302) and method == "POST"):
                method, body = ("HEAD" if method == "HEAD" else "GET"), b""
                headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
            if urlsplit(next_url).netloc != urlsplit(url).netloc:
                # Credentials meant for one host are not handed to the next.
                headers = {k: v for k, v in headers.items() if k.lower() not in ("authorization", "cookie")}
            url = next_url
        raise Refused(f"more than {self.config.max_redirects} redirects from {spec.url}")

    async def _once(self, method: str, url: str, body: bytes, headers: dict[str, str]) -> _Answer:
        response = await http11.request(method, url, body, headers=headers,
                                        connect_timeout=self.config.connect_timeout_s,
                                        ssl_context=self._tls() if url.startswith("https:") else None)
        async with response:
            data = b""
            if method != "HEAD" and response.status not in _NO_BODY and response.status >= 200:
                data = await self._read(response)
            return _Answer(response.status, response.reason, response.headers, data, url)

    async def _read(self, response: http11.Response) -> bytes:
        limit = self.config.max_response_bytes
        pieces: list[bytes] = []
        size = 0
        async for piece in response.iter_body():
            size += len(piece)
            if size > limit:
                raise Refused(f"the response body is larger than max_response_bytes ({limit})")
            pieces.append(piece)
        return b"".join(pieces)
