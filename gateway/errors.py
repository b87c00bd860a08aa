"""Problem details (RFC 9457): the one error shape every 4xx/5xx answer uses, and the handlers that make it."""

from __future__ import annotations

import logging
import re
import time
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR, HTTP_503_SERVICE_UNAVAILABLE
from litestar.types import ExceptionHandlersMap

from core.store.transient import TRANSIENT
from projections.db import UNREACHABLE

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    426: "Upgrade Required",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
_SLUGS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "content-too-large",
    415: "unsupported-media-type",
    426: "upgrade-required",
    429: "too-many-requests",
    500: "internal",
    503: "unavailable",
}


# UNREACHABLE (PostgreSQL refusing, resetting, shutting down or starting up; a socket error) and NATS's
# TRANSIENT errors (a stream electing a leader, a reconnect): the same request can succeed shortly, so it is a
# 503 to retry, not a 500 (a bug).
UNAVAILABLE: tuple[type[Exception], ...] = (*UNREACHABLE, *TRANSIENT)
RETRY_AFTER_S = 1


class FieldError(msgspec.Struct, frozen=True):
    field: str
    message: str


class Problem(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] = []
    checks: dict[str, str] = {}
    # A batch that failed part way: the ids of the tasks it did create.
    created: list[str] = []


class ApiError(Exception):
    """Root of the gateway's own errors; each becomes a problem response at the edge."""

    status = 400
    slug = "bad-request"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        checks: dict[str, str] | None = None,
        created: list[str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.headers = headers or {}
        self.checks = checks or {}
        self.created = created or []


class InvalidInput(ApiError):
    status, slug = 400, "validation-error"


class NotFound(ApiError):
    status, slug = 404, "not-found"


class Conflict(ApiError):
    status, slug = 409, "conflict"


class UnsupportedMediaType(ApiError):
    status, slug = 415, "unsupported-media-type"


class TooManyRequests(ApiError):
    status, slug = 429, "too-many-requests"


class Unavailable(ApiError):
    status, slug = 503, "unavailable"


def status_of(exc: BaseException) -> int:
    """The HTTP status an exception will be answered with (500 for anything not an HTTP error)."""
    if isinstance(exc, ApiError):
        return exc.status
    if isinstance(exc, HTTPException):
        return exc.status_code
    if isinstance(exc, UNAVAILABLE):
        return HTTP_503_SERVICE_UNAVAILABLE
    return 500


def invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(f"{field}: {message}", errors=[FieldError(field, message)])


_AT = re.compile(r"^(?P<message>.*?)(?: - at `(?P<path>[^`]*)`)?$", re.DOTALL)
_UNKNOWN = re.compile(r"^Object contains unknown field `(?P<name>.*)`$", re.DOTALL)
_MISSING = re.compile(r"^Object missing required field `(?P<name>.*)`$", re.DOTALL)


def from_msgspec(err: msgspec.MsgspecError) -> InvalidInput:
    """msgspec reports one error as 'message - at `$.path`'; turn it into a named field error."""
    if not isinstance(err, msgspec.ValidationError):  # ValidationError subclasses DecodeError: test it first
        return invalid("$", f"body is not valid JSON ({err})")
    match = _AT.match(str(err))
    assert match is not None  # the pattern matches any string
    message, path = match["message"], match["path"] or "$"
    unknown = _UNKNOWN.match(message)
    if unknown:
        # Name the offending field itself, not the object holding it.
        return invalid(f"{path}.{unknown['name']}", "unknown field (not part of this request's schema)")
    missing = _MISSING.match(message)
    if missing:
        return invalid(f"{path}.{missing['name']}", "required field is missing")
    return invalid(path, message)


def problem_of(status: int, detail: str, *, slug: str | None = None, errors: list[FieldError] | None = None,
               checks: dict[str, str] | None = None, created: list[str] | None = None) -> Problem:
    return Problem(
        type=f"urn:hive:problem:{slug or _SLUGS.get(status, 'error')}",
        title=_TITLES.get(status, "Error"),
        status=status,
        detail=detail,
        errors=errors or [],
        checks=checks or {},
        created=created or [],
    )


def problem_response(status: int, detail: str, *, slug: str | None = None, errors: list[FieldError] | None = None,
                     headers: dict[str, str] | None = None, checks: dict[str, str] | None = None,
                     created: list[str] | None = None) -> Response[Problem]:
    body = problem_of(status, detail, slug=slug, errors=errors, checks=checks, created=created)
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers or {})


def _api_error(request: Request[Any, Any, Any], exc: ApiError) -> Response[Problem]:
    return problem_response(exc.status, exc.detail, slug=exc.slug, errors=exc.errors, headers=exc.headers,
                            checks=exc.checks, created=exc.created)


def _litestar_http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Problem]:
    status = exc.status_code
    if status >= 500:
        log.error("%s %s failed: %s", request.method, request.url.path, exc.detail, exc_info=exc)
        return problem_response(status, "the gateway failed to handle this request; it has been logged")
    errors: list[FieldError] = []
    if isinstance(exc, ValidationException) and isinstance(exc.extra, list):
        for item in exc.extra:
            if isinstance(item, dict):
                errors.append(FieldError(str(item.get("key", "$")), str(item.get("message", "invalid"))))
    headers = dict(exc.headers or {})
    if status == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    slug = InvalidInput.slug if errors else None  # the same type as the gateway's own validation errors
    return problem_response(status, exc.detail, slug=slug, errors=errors, headers=headers)


class LogThrottle:
    """At most one line per `interval_s`: during an outage every read fails alike, and a line each would flood."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._next_at = 0.0
        self._left_out = 0

    def admit(self, now: float) -> int | None:
        """None: leave this line out; otherwise log it, with the number of lines left out since the last one."""
        if now < self._next_at:
            self._left_out += 1
            return None
        left_out, self._left_out, self._next_at = self._left_out, 0, now + self.interval_s
        return left_out


_unreachable_log = LogThrottle(10.0)


def _unreachable(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    left_out = _unreachable_log.admit(time.monotonic())
    if left_out is not None:  # no traceback: the cause is the one line
        log.warning("%s %s: a server is unreachable: %r (%d more such answers left out since the last line)",
                    request.method, request.url.path, exc, left_out)
    return problem_response(HTTP_503_SERVICE_UNAVAILABLE,
                            f"a server the gateway needs is unreachable ({type(exc).__name__}); retry shortly",
                            headers={"Retry-After": str(RETRY_AFTER_S)})


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    # Bad input must never get here: every input error is an ApiError or a Litestar 4xx.
    log.exception("%s %s failed unexpectedly", request.method, request.url.path, exc_info=exc)
    return problem_response(HTTP_500_INTERNAL_SERVER_ERROR, "the gateway failed to handle this request; it has been logged")


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    ApiError: _api_error,
    HTTPException: _litestar_http,
    **{kind: _unreachable for kind in UNAVAILABLE},
    Exception: _unexpected,
}

__all__ = [
    "ApiError",
    "Conflict",
    "EXCEPTION_HANDLERS",
    "FieldError",
    "InvalidInput",
    "NotFound",
    "Problem",
    "TooManyRequests",
    "UNREACHABLE",
    "Unavailable",
    "UnsupportedMediaType",
    "from_msgspec",
    "invalid",
    "problem_of",
    "problem_response",
    "status_of",
]
