"""The request an HTTP Request node makes for one item, for every typeVersion n8n exports (v1/v2 `requestMethod`
with `jsonParameters` or the `*ParametersUi` lists; v3 to v4.x `method` with `sendQuery`/`sendHeaders`/`sendBody`),
in the http executor's payload shape (`{"method", "url", "headers", "query", "body", ..., "credential"}`); pure."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from core.workflows.context import RunView
from core.workflows.errors import NodeFailed
from core.workflows.expr_values import from_json, to_string
from core.workflows.items import Item
from core.workflows.model import Node
from core.workflows.node_credentials import credential_ref
from core.workflows.node_params import option, resolve_param
from core.workflows.query_string import flatten_query, set_path

Get = Callable[..., Any]
METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
_V1_BODY_METHODS = ("PATCH", "POST", "PUT", "DELETE")  # v1/v2 show body parameters for these only
_V1_FORM_METHODS = ("PATCH", "POST", "PUT")  # and apply bodyContentType to these only
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
# What n8n asks for when the node sets no Accept header, by response format.
_ACCEPT = {
    "json": "application/json,text/*;q=0.99",
    "text": "application/json,text/html,application/xhtml+xml,application/xml,text/*;q=0.9, */*;q=0.1",
    "autodetect": "application/json,text/html,application/xhtml+xml,application/xml,text/*;q=0.9, image/*;q=0.8, "
                  "*/*;q=0.7",
}


def http_request(node: Node, view: RunView, items: list[Item], i: int) -> dict[str, Any]:
    """The request for item `i`; NodeFailed naming the node and parameter when a parameter cannot be used."""
    def get(name: str, default: Any = None) -> Any:
        return resolve_param(node, name, view, items, i, default)

    request = _legacy(node, get) if node.type_version < 3 else _current(node, get)
    headers: dict[str, Any] = request["headers"]
    if not any(k.lower() == "accept" for k in headers):
        headers["accept"] = _ACCEPT[request["response_format"]]
    request["headers"] = {str(k): to_string(v) for k, v in headers.items()}
    if request["method"] not in METHODS:
        raise NodeFailed(f"node {node.name!r}: unknown request method {request['method']!r} "
                         f"(one of {', '.join(METHODS)})", i)
    credential = credential_ref(node)
    if credential is not None:  # only when set: an agent that predates the field still takes every other request
        request["credential"] = credential
    return request


def _legacy(node: Node, get: Get) -> dict[str, Any]:
    """v1 and v2 (their parameters differ only in how credentials are chosen)."""
    method = to_string(get("requestMethod") or "GET").upper()
    options = _dict(get("options", {}))
    content = options.get("bodyContentType", "json")
    headers: dict[str, Any] = {}
    query: dict[str, Any] = {}
    body: Any = None
    with_body = method in _V1_BODY_METHODS
    if get("jsonParameters") is True:
        query = _object(node, "queryParametersJson", get("queryParametersJson", ""))
        headers = _object(node, "headerParametersJson", get("headerParametersJson", ""))
        raw = get("bodyParametersJson", "") if with_body else ""
        if raw != "":
            body = raw if content == "raw" and isinstance(raw, str) else _json(node, "bodyParametersJson", raw, None)
    else:
        query = _collect(_entries(get("queryParametersUi", {}), "parameter"), repeat=True)
        headers = {k.lower(): v for k, v in _collect(_entries(get("headerParametersUi", {}), "parameter")).items()}
        ui_body = get("bodyParametersUi", {}) if with_body else {}
        if isinstance(ui_body, dict) and "parameter" in ui_body:
            body = _collect(_entries(ui_body, "parameter"))
    if method in _V1_FORM_METHODS and body is not None:
        if content == "form-urlencoded":
            _content_type(headers, FORM)
        elif content == "multipart-form-data":
            _content_type(headers, MULTIPART)
        elif content == "raw" and not isinstance(body, str):
            body = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    if options.get("bodyContentCustomMimeType"):
        _content_type(headers, to_string(options["bodyContentCustomMimeType"]))
    fmt = {"json": "json", "string": "text"}.get(to_string(get("responseFormat", "json")), "autodetect")
    follow = options.get("followAllRedirects") is True or (
        options.get("followRedirect") is not False and method in ("GET", "HEAD"))
    arrays = "repeat" if options.get("useQueryString") is True else "brackets"
    return _payload(method, get, headers, flatten_query(query, arrays), body, fmt, follow, options,
                    never_error=options.get("ignoreResponseCode") is True)


def _current(node: Node, get: Get) -> dict[str, Any]:
    """v3, v4, 4.1, 4.2 (and the later 4.x, which only add options)."""
    version = node.type_version
    repeat = version >= 4.3  # from 4.3 a name given twice sends both values
    method = to_string(get("method") or "GET").upper()
    options = _dict(get("options", {}))
    headers: dict[str, Any] = {}
    query: dict[str, Any] = {}
    body: Any = None
    if get("sendQuery") is True:
        query = _object(node, "jsonQuery", get("jsonQuery", "")) if get("specifyQuery") == "json" \
            else _collect(_entries(get("queryParameters", {})), repeat=repeat)
    if get("sendHeaders") is True:
        headers = _object(node, "jsonHeaders", get("jsonHeaders", "")) if get("specifyHeaders") == "json" \
            else _collect(_entries(get("headerParameters", {})), repeat=repeat)
        if options.get("lowercaseHeaders", True) is not False:
            headers = {str(k).lower(): v for k, v in headers.items()}
    if get("sendBody") is True:
        body = _body_v3(node, get, headers, version, repeat)
    response = _dict(option(options, "response", "response", default={}))
    fmt = to_string(response.get("responseFormat", "autodetect"))
    redirect = option(options, "redirect", "redirect")
    follows = option(redirect, "followRedirects")
    # v3 follows a redirect only when told to; from v4 it follows unless told not to.
    follow = follows is True if version < 4 else follows is not False
    arrays = to_string(options.get("queryParameterArrays", "brackets"))
    return _payload(method, get, headers, flatten_query(query, arrays), body,
                    fmt if fmt in ("json", "text") else "autodetect", follow, options,
                    never_error=response.get("neverError") is True)


def _body_v3(node: Node, get: Get, headers: dict[str, Any], version: float, repeat: bool) -> Any:
    content = to_string(get("contentType") or "json")
    specify = get("specifyBody") or "keypair"
    if content == "raw":
        raw_type = get("rawContentType", "")
        if raw_type:
            _content_type(headers, to_string(raw_type))
        return to_string(get("body", ""))
    if content == "binaryData":
        return None  # Hive moves no binary data between nodes: the request goes without a body
    entries = _entries(get("bodyParameters", {}))
    if content == "multipart-form-data":
        _content_type(headers, MULTIPART)
        return _collect([e for e in entries if e.get("parameterType", "formData") == "formData"], repeat=repeat)
    if content == "form-urlencoded":
        _content_type(headers, FORM)
        if specify == "string":
            return dict(parse_qsl(to_string(get("body", "")), keep_blank_values=True))
        return _collect(entries, repeat=repeat)
    if specify == "json":
        return _json(node, "jsonBody", get("jsonBody", ""), {})
    if version >= 4:  # names are paths: `a.b` sets b inside a, as lodash's set does
        body: dict[str, Any] = {}
        for entry in entries:
            if to_string(entry.get("name", "")):
                set_path(body, to_string(entry["name"]), entry.get("value", ""))
        return body
    return _collect(entries, repeat=repeat)


def _payload(method: str, get: Get, headers: dict[str, Any], query: dict[str, Any], body: Any, fmt: str,
             follow: bool, options: dict[str, Any], never_error: bool) -> dict[str, Any]:
    timeout_ms = options.get("timeout")
    payload: dict[str, Any] = {
        "method": method, "url": _text(get("url", "")).strip(), "headers": headers, "query": query, "body": body,
        "response_format": fmt, "follow_redirects": follow,
        "timeout_s": timeout_ms / 1000 if isinstance(timeout_ms, int | float) and timeout_ms > 0 else None,
    }
    if never_error:  # only when set: an agent that predates the field still takes every other request
        payload["never_error"] = True
    return payload


def _text(value: Any) -> str:
    return "" if value is None else to_string(value)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _entries(value: Any, key: str = "parameters") -> list[dict[str, Any]]:
    entries = option(value, key, default=[]) or []
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


def _collect(entries: list[dict[str, Any]], repeat: bool = False) -> dict[str, Any]:
    """Name/value pairs as an object; a name given twice keeps the last value, or both when `repeat`."""
    out: dict[str, Any] = {}
    for entry in entries:
        name = to_string(entry.get("name", ""))
        if not name:
            continue
        value = entry.get("value", "")
        if repeat and name in out:
            out[name] = [*out[name], value] if isinstance(out[name], list) else [out[name], value]
        else:
            out[name] = value
    return out


def _json(node: Node, name: str, value: Any, empty: Any) -> Any:
    """A JSON parameter: an object given as is, text parsed; NodeFailed names the node and parameter."""
    if not isinstance(value, str):
        return empty if value is None else value
    if not value.strip():
        return empty
    try:
        return from_json(value)
    except Exception as err:  # noqa: BLE001 - any parse failure is the same message
        raise NodeFailed(f"node {node.name!r}: the value of parameter {name} is not valid JSON") from err


def _object(node: Node, name: str, value: Any) -> dict[str, Any]:
    parsed = _json(node, name, value, {})
    if not isinstance(parsed, dict):
        raise NodeFailed(f"node {node.name!r}: parameter {name} must be a JSON object")
    return parsed


def _content_type(headers: dict[str, Any], value: str) -> None:
    for key in [k for k in headers if k.lower() == "content-type"]:
        del headers[key]
    headers["content-type"] = value
