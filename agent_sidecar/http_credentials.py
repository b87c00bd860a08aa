"""The sidecar's [http.credentials.<name>] tables: named secrets an http task refers to by name, applied as a header,
a bearer token, basic auth, a query parameter or a set of custom headers and query parameters. Checked when the
sidecar starts (each error names its field), with `*_env` values read then from the environment it was given."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from agent_sidecar.allowlist import PatternError, parse_pattern
from agent_sidecar.errors import ConfigError, located
from core.http_credentials import credential_capability

_TOKEN = r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"
HeaderName = Annotated[str, Meta(pattern=_TOKEN, max_length=256)]
EnvName = Annotated[str, Meta(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=256)]
ParamName = Annotated[str, Meta(min_length=1, max_length=256)]
# Set by the executor from the URL and body (as in a task's own headers).
RESERVED_HEADERS = {"host", "content-length", "transfer-encoding", "connection", "upgrade", "te", "trailer"}
_BAD_TEXT = re.compile(r"[\r\n\0]")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


class Secret(str):
    """A secret value: itself wherever it is used, `'***'` in any repr (a config printed in a log or traceback)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "'***'"


class _Credential(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, tag_field="type"):
    # Hosts (allowlist patterns) this credential may be sent to; empty: any host of [http] allowed_hosts.
    hosts: list[str] = []


class HeaderCredential(_Credential, frozen=True, kw_only=True, tag="header"):
    """n8n's httpHeaderAuth: one header `name: value`."""

    name: HeaderName
    value: str | None = None
    value_env: EnvName | None = None


class BearerCredential(_Credential, frozen=True, kw_only=True, tag="bearer"):
    """n8n's httpBearerAuth (and an OAuth2 access token): `Authorization: Bearer <token>`."""

    token: str | None = None
    token_env: EnvName | None = None


class BasicCredential(_Credential, frozen=True, kw_only=True, tag="basic"):
    """n8n's httpBasicAuth: `Authorization: Basic base64(user:password)`."""

    user: str
    password: str | None = None
    password_env: EnvName | None = None


class QueryCredential(_Credential, frozen=True, kw_only=True, tag="query"):
    """n8n's httpQueryAuth: one query parameter `name=value`."""

    name: ParamName
    value: str | None = None
    value_env: EnvName | None = None


class CustomCredential(_Credential, frozen=True, kw_only=True, tag="custom"):
    """n8n's httpCustomAuth (its headers and qs): several headers and query parameters, every value a secret."""

    headers: dict[HeaderName, str] = {}
    headers_env: dict[HeaderName, EnvName] = {}
    query: dict[ParamName, str] = {}
    query_env: dict[ParamName, EnvName] = {}


HttpCredential = HeaderCredential | BearerCredential | BasicCredential | QueryCredential | CustomCredential
TYPES = ("header", "bearer", "basic", "query", "custom")
# The field of each type's one secret (its `*_env` twin names an environment variable instead).
_SECRET_FIELD = {HeaderCredential: "value", BearerCredential: "token", BasicCredential: "password",
                 QueryCredential: "value"}


def credential_path(name: str) -> str:
    """`$.http.credentials.<name>`, or `["<name>"]` for a name that is not a plain word."""
    return f"$.http.credentials.{name}" if _IDENTIFIER.match(name) else \
        f"$.http.credentials[{json.dumps(name, ensure_ascii=False)}]"


def check_credential_tables(raw_http: object) -> None:
    """Validate each [http.credentials.<name>] on its own, so an error names the credential (msgspec says `[...]`)."""
    tables = raw_http.get("credentials") if isinstance(raw_http, dict) else None
    if not isinstance(tables, dict):
        return
    by_slug: dict[str, str] = {}
    for name, table in tables.items():
        where = credential_path(name)
        if not name.strip() or len(name) > 128 or any(ord(c) < 32 for c in name):
            raise ConfigError(f"invalid sidecar config: a credential name is 1-128 printable characters - at `{where}`")
        kind = table.get("type") if isinstance(table, dict) else None
        if kind not in TYPES:
            raise ConfigError(f"invalid sidecar config: a credential's type is one of {', '.join(TYPES)}, got "
                              f"{kind!r} - at `{where}.type`")
        try:
            msgspec.convert(table, HttpCredential)
        except msgspec.ValidationError as err:
            raise ConfigError(f"invalid sidecar config: {located(str(err), where)}") from err
        capability = credential_capability(name)
        if capability in by_slug:
            raise ConfigError(f"invalid sidecar config: credentials {by_slug[capability]!r} and {name!r} have the same "
                              f"capability {capability} (names compare ignoring case, spaces as '-') - at `{where}`")
        by_slug[capability] = name


def resolve_credentials(credentials: dict[str, HttpCredential],
                        environ: Mapping[str, str]) -> dict[str, HttpCredential]:
    """Each credential checked, with its secrets read from `environ` and held as Secret values (`*_env` kept, so
    messages can name the variable); ConfigError naming the field when one is missing, doubled or malformed."""
    return {name: _resolve(credential, credential_path(name), environ) for name, credential in credentials.items()}


def _resolve(credential: HttpCredential, where: str, environ: Mapping[str, str]) -> HttpCredential:
    for index, pattern in enumerate(credential.hosts):
        try:
            parse_pattern(pattern)
        except PatternError as err:
            raise ConfigError(f"invalid sidecar config: {err} - at `{where}.hosts[{index}]`") from err
    if isinstance(credential, CustomCredential):
        return _resolve_custom(credential, where, environ)
    if isinstance(credential, HeaderCredential) and credential.name.lower() in RESERVED_HEADERS:
        raise ConfigError(f"invalid sidecar config: the executor sets this header itself - at `{where}.name`")
    field = _SECRET_FIELD[type(credential)]
    value = _secret(getattr(credential, field), getattr(credential, f"{field}_env"), f"{where}.{field}",
                    f"{where}.{field}_env", environ)
    return msgspec.structs.replace(credential, **{field: value})


def _resolve_custom(credential: CustomCredential, where: str, environ: Mapping[str, str]) -> CustomCredential:
    if not (credential.headers or credential.headers_env or credential.query or credential.query_env):
        raise ConfigError(f"invalid sidecar config: a custom credential needs headers, headers_env, query or "
                          f"query_env - at `{where}`")
    resolved: dict[str, Any] = {}
    for kind in ("headers", "query"):
        literal: dict[str, str] = getattr(credential, kind)
        from_env: dict[str, str] = getattr(credential, f"{kind}_env")
        values: dict[str, Secret] = {}
        for key in {**literal, **from_env}:
            if kind == "headers" and key.lower() in RESERVED_HEADERS:
                raise ConfigError(f"invalid sidecar config: the executor sets this header itself - at `{where}.{kind}`")
            values[key] = _secret(literal.get(key), from_env.get(key), f"{where}.{kind}.{key}",
                                  f"{where}.{kind}_env.{key}", environ)
        resolved[kind] = values
    return msgspec.structs.replace(credential, headers=resolved["headers"], query=resolved["query"])


def _secret(literal: str | None, env: str | None, at: str, env_at: str, environ: Mapping[str, str]) -> Secret:
    """The secret given literally (at `at`) or by the name of its environment variable (at `env_at`)."""
    if literal is not None and env is not None:
        raise ConfigError(f"invalid sidecar config: give the secret or the name of the environment variable that "
                          f"holds it, not both - at `{env_at}`")
    if literal is None and env is None:
        raise ConfigError(f"invalid sidecar config: missing the secret: name the environment variable that holds it "
                          f"at `{env_at}` (or give it at `{at}`) - at `{at}`")
    if env is not None:
        literal = environ.get(env)
        if not literal:
            raise ConfigError(f"invalid sidecar config: environment variable {env} is not set or is empty - at "
                              f"`{env_at}`")
        at = env_at
    assert literal is not None
    if not literal:
        raise ConfigError(f"invalid sidecar config: the secret is empty - at `{at}`")
    if _BAD_TEXT.search(literal):  # the value itself is not shown: it is a secret
        raise ConfigError(f"invalid sidecar config: the secret contains CR, LF or NUL - at `{at}`")
    return Secret(literal)


def credential_capabilities(credentials: dict[str, HttpCredential]) -> dict[str, float]:
    """`http.cred.<slug>` per credential: only agents holding one are given the tasks that use it."""
    return {credential_capability(name): 1.0 for name in credentials}
