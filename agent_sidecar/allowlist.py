"""Host allowlist for the http executor: `host`, `host:port`, `*.domain`, `[v6]:port`, or `*`; pure, no I/O."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_LABELS = re.compile(r"^[a-z0-9_-]+(\.[a-z0-9_-]+)*$")
_V6 = re.compile(r"^[0-9a-f:.]+$")


class PatternError(ValueError):
    """An allowlist entry that cannot be read; the message says what a valid one looks like."""


@dataclass(frozen=True)
class HostPattern:
    host: str  # lowercased; "*" for any host; "*.example.com" for its subdomains
    port: int | None  # None: any port

    def matches(self, host: str, port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.host == "*":
            return True
        if self.host.startswith("*."):
            # Subdomains only: `*.example.com` does not admit example.com itself, nor evil-example.com.
            return host.endswith(self.host[1:]) and len(host) > len(self.host) - 1
        return host == self.host


def normalize_host(host: str) -> str:
    """Lowercased, without brackets or the root's trailing dot, so `Example.COM.` is `example.com`."""
    return host.strip("[]").rstrip(".").lower()


def parse_pattern(text: str) -> HostPattern:
    raw = text.strip().lower()
    if "/" in raw or "@" in raw:
        raise PatternError(f"{text!r} is not a host pattern: write the host (and port) only, not a URL")
    if raw == "*":
        return HostPattern("*", None)
    host, port = raw, None
    if raw.startswith("["):
        close = raw.find("]")
        if close < 0 or (close + 1 < len(raw) and raw[close + 1] != ":"):
            raise PatternError(f"bad IPv6 pattern {text!r} (write [::1] or [::1]:8080)")
        host, rest = raw[1:close], raw[close + 2:]
        if not _V6.match(host):
            raise PatternError(f"bad IPv6 address in {text!r}")
        port = _port(rest, text) if rest else None
        return HostPattern(host, port)
    if raw.count(":") == 1:
        host, rest = raw.split(":")
        port = None if rest == "*" else _port(rest, text)
    host = host.rstrip(".")
    bare = host[2:] if host.startswith("*.") else host
    if not bare or not _LABELS.match(bare):
        raise PatternError(f"bad host pattern {text!r} (write a host such as api.example.com, "
                           "*.example.com, 10.0.0.5:8080, [::1]:8080, or * for any host)")
    return HostPattern(host, port)


def _port(text: str, pattern: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise PatternError(f"bad port in host pattern {pattern!r}")
    return int(text)


def allowed(patterns: Sequence[HostPattern], host: str, port: int) -> bool:
    name = normalize_host(host)
    return any(p.matches(name, port) for p in patterns)
