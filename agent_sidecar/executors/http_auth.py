"""An http task's credential on the agent: found by the name the task gives, held to the hosts it may go to, applied
to a request (headers, basic auth, query parameters) to its own origin only, and kept out of what the task reports
(every secret value in its output and errors is replaced); pure, no I/O."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus, unquote_plus, urlencode, urlsplit, urlunsplit

from agent_sidecar.allowlist import HostPattern, allowed, normalize_host, parse_pattern
from agent_sidecar.http_credentials import (BasicCredential, BearerCredential, CustomCredential, HeaderCredential,
                                            HttpCredential, QueryCredential)
from agent_sidecar.executors.http_spec import CredentialRef
from core.http_credentials import credential_slug

REDACTED = "[redacted]"
Origin = tuple[str, str, int]


class CredentialRefused(Exception):
    """The task's credential cannot be used here (not configured, or not for this host): not retryable."""


def origin(url: str) -> Origin:
    parts = urlsplit(url)
    return parts.scheme, normalize_host(parts.hostname or ""), parts.port or (443 if parts.scheme == "https" else 80)


class AppliedCredential:
    """One configured credential, ready to apply. Its repr names it and never shows a value."""

    def __init__(self, name: str, kind: str, headers: dict[str, str], query: dict[str, str], hosts: list[str],
                 secrets: Iterable[str]) -> None:
        self.name, self.kind, self.headers, self.query = name, kind, headers, query
        self.hosts: list[HostPattern] = [parse_pattern(p) for p in hosts]
        self._host_text = ", ".join(hosts)
        # URL-encoded forms too: a query value shows up that way in a URL. Longest first, so no secret is left
        # half-replaced by a shorter one inside it.
        forms = {form for s in secrets if s for form in (s, quote(s, safe=""), quote_plus(s, safe=""))}
        self._secrets = sorted(forms, key=len, reverse=True)

    def __repr__(self) -> str:
        return f"AppliedCredential({self.name!r}, {self.kind})"

    def check(self, url: str) -> None:
        scheme, host, port = origin(url)
        if self.hosts and not allowed(self.hosts, host, port):
            raise CredentialRefused(f"credential {self.name!r} may not be sent to {host}:{port} (its hosts: "
                                    f"{self._host_text})")

    def apply(self, url: str, headers: dict[str, str], *, with_query: bool) -> tuple[str, dict[str, str]]:
        """The URL (with the credential's query parameters when `with_query`) and headers to send: the credential's
        replace any of the same name, as n8n sets them after the node's own."""
        names = {k.lower() for k in self.headers}
        sent = {k: v for k, v in headers.items() if k.lower() not in names} | self.headers
        if not with_query or not self.query:
            return url, sent
        parts = urlsplit(url)
        kept = [p for p in parts.query.split("&") if p and unquote_plus(p.split("=", 1)[0]) not in self.query]
        query = "&".join([*kept, urlencode(list(self.query.items()))])
        return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment)), sent

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def redact_value(self, value: Any) -> Any:
        """A JSON value with every string (keys too) redacted: a server that echoes the request gets no secret out."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, list):
            return [self.redact_value(v) for v in value]
        if isinstance(value, dict):
            return {self.redact(str(k)): self.redact_value(v) for k, v in value.items()}
        return value


def applied(name: str, credential: HttpCredential) -> AppliedCredential:
    """The headers and query parameters a resolved credential (its secrets read at start) sends."""
    hosts = credential.hosts
    if isinstance(credential, HeaderCredential):
        value = credential.value or ""
        return AppliedCredential(name, "header", {credential.name: value}, {}, hosts, [value])
    if isinstance(credential, BearerCredential):
        token = credential.token or ""
        return AppliedCredential(name, "bearer", {"Authorization": f"Bearer {token}"}, {}, hosts, [token])
    if isinstance(credential, BasicCredential):
        password = credential.password or ""
        pair = base64.b64encode(f"{credential.user}:{password}".encode()).decode()
        return AppliedCredential(name, "basic", {"Authorization": f"Basic {pair}"}, {}, hosts, [password, pair])
    if isinstance(credential, QueryCredential):
        value = credential.value or ""
        return AppliedCredential(name, "query", {}, {credential.name: value}, hosts, [value])
    assert isinstance(credential, CustomCredential)
    return AppliedCredential(name, "custom", dict(credential.headers), dict(credential.query), hosts,
                             [*credential.headers.values(), *credential.query.values()])


class Credentials:
    """The agent's credentials, found as placement finds them: by the slug of their name."""

    def __init__(self, configured: dict[str, HttpCredential], agent_id: str) -> None:
        self._by_slug = {credential_slug(name): applied(name, c) for name, c in configured.items()}
        self._agent = f"agent {agent_id}" if agent_id else "this agent"

    def find(self, ref: CredentialRef) -> AppliedCredential:
        found = self._by_slug.get(credential_slug(ref.name))
        if found is None:
            have = ", ".join(repr(c.name) for c in self._by_slug.values()) or "none"
            raise CredentialRefused(f"credential {ref.describe()} is not configured on {self._agent} (it has: {have}); "
                                    f"add [http.credentials.\"{ref.name}\"] to the config of the agents that may use it")
        return found
