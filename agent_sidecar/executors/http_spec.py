"""The http task's payload (`{"kind": "http", "request": {...}}`) decoded and checked, and its response shaped as
the task's output; pure, no I/O."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from urllib.parse import urlencode, urlsplit, urlunsplit

import msgspec
import orjson
from msgspec import Meta

from agent_sidecar.errors import located
from agent_sidecar.executors.http_forms import multipart, urlencoded

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
QueryValue = str | int | float | bool | None
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
# Set by the executor from the URL and body: a task that could choose them could aim an allowed address at another
# virtual host, or smuggle a second request.
_RESERVED = {"host", "content-length", "transfer-encoding", "connection", "upgrade", "te", "trailer"}


class PayloadError(ValueError):
    """The task's request is malformed; the message names the field (`$.payload.request.url`)."""


class CredentialRef(msgspec.Struct, frozen=True, kw_only=True):
    """What a task says about its credential: the name the agent knows it by, and n8n's id and type (for messages)."""

    name: str
    id: str | None = None
    type: str | None = None

    def describe(self) -> str:
        extra = ", ".join(x for x in (self.type, f"id {self.id}" if self.id else None) if x)
        return f"{self.name!r}" + (f" ({extra})" if extra else "")


class HttpRequestSpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    method: Method = "GET"
    url: str
    headers: dict[str, str] = {}
    query: dict[str, QueryValue | list[QueryValue]] = {}
    # A string is sent as it is (text/plain unless a content-type header says otherwise); an object with the
    # content-type application/x-www-form-urlencoded or multipart/form-data as that form; anything else but null as
    # JSON (application/json unless a content-type says otherwise); null sends no body.
    body: Any = None
    response_format: Literal["json", "text", "autodetect"] = "autodetect"
    timeout_s: Annotated[float, Meta(gt=0.0)] | None = None
    follow_redirects: bool = True
    # Any status is a successful answer (n8n's neverError / ignoreResponseCode); otherwise only 2xx is.
    never_error: bool = False
    # A credential of the agent's [http.credentials], by name: the task never carries the secret itself.
    credential: CredentialRef | None = None


def decode_request(payload: dict[str, Any]) -> HttpRequestSpec:
    raw = payload.get("request")
    if not isinstance(raw, dict):
        raise PayloadError("missing object `request` - at `$.payload.request` "
                           '(an http task\'s payload is {"kind": "http", "request": {"method": ..., "url": ...}})')
    if isinstance(raw.get("method"), str):
        raw = {**raw, "method": raw["method"].upper()}
    try:
        spec = msgspec.convert(raw, HttpRequestSpec)
    except msgspec.ValidationError as err:
        raise PayloadError(located(str(err), "$.payload.request")) from err
    parts = urlsplit(spec.url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PayloadError(f"want an http:// or https:// URL, got {spec.url!r} - at `$.payload.request.url`")
    try:
        _ = parts.port  # raises on a port that is not a number in range
    except ValueError as err:
        raise PayloadError(f"bad port in {spec.url!r} - at `$.payload.request.url`") from err
    for name, value in spec.headers.items():
        where = f"$.payload.request.headers.{name}"
        if not _TOKEN.match(name):
            raise PayloadError(f"not a valid header name - at `{where}`")
        if name.lower() in _RESERVED:
            raise PayloadError(f"the executor sets this header itself - at `{where}`")
        if "\r" in value or "\n" in value or "\0" in value:
            raise PayloadError(f"a header value may not contain CR, LF or NUL - at `{where}`")
    return spec


def target_url(spec: HttpRequestSpec) -> str:
    """The URL with the spec's query parameters added to any already in it (booleans as true/false)."""
    if not spec.query:
        return spec.url
    pairs: list[tuple[str, str]] = []
    for name, value in spec.query.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((name, _query_text(item)))
    parts = urlsplit(spec.url)
    query = "&".join(q for q in (parts.query, urlencode(pairs)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _query_text(value: QueryValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def encode_body(spec: HttpRequestSpec) -> tuple[bytes, dict[str, str]]:
    """The body's bytes and the headers to send (a content-type added when the task gave none)."""
    headers = dict(spec.headers)
    if spec.body is None:
        return b"", headers
    has_type = any(name.lower() == "content-type" for name in headers)
    if isinstance(spec.body, str):
        if not has_type:
            headers["Content-Type"] = "text/plain; charset=utf-8"
        return spec.body.encode(), headers
    if not has_type:
        headers["Content-Type"] = "application/json"
    elif isinstance(spec.body, dict) and _content_type(headers) == "application/x-www-form-urlencoded":
        # A form: n8n's HTTP Request node sends its body parameters this way.
        return urlencoded(spec.body), headers
    elif isinstance(spec.body, dict) and _content_type(headers) == "multipart/form-data":
        data, content_type = multipart(spec.body)
        headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        headers["Content-Type"] = content_type
        return data, headers
    return orjson.dumps(spec.body), headers


def _content_type(headers: dict[str, str]) -> str:
    value = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    return value.split(";", 1)[0].strip().lower()


def shape_response(status: int, reason: str, headers: dict[str, str], body: bytes,
                   response_format: str) -> dict[str, Any]:
    """`{"status", "status_message", "headers", "body"}` with the body parsed as JSON or decoded as text; raises PayloadError when
    the task asked for JSON and the body is not."""
    shaped: Any
    if response_format == "text":
        shaped = body.decode("utf-8", errors="replace")
    elif response_format == "json":
        if not body:
            shaped = None
        else:
            try:
                shaped = orjson.loads(body)
            except orjson.JSONDecodeError as err:
                raise PayloadError(f"the response (HTTP {status}) is not JSON ({err}); "
                                   'set request.response_format to "text" or "autodetect"') from err
    else:
        shaped = _autodetect(headers.get("content-type", ""), body)
    return {"status": status, "status_message": reason, "headers": headers, "body": shaped}


def _autodetect(content_type: str, body: bytes) -> Any:
    if "json" in content_type.lower() and body:
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass  # a server that mislabels its body: keep it as text
    return body.decode("utf-8", errors="replace")
