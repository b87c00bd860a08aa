"""The http executor's host allowlist: which host:port each pattern admits, and which patterns are refused."""

from __future__ import annotations

import pytest

from agent_sidecar.allowlist import PatternError, allowed, parse_pattern

CASES = [
    # pattern, host, port, admitted
    ("api.example.com", "api.example.com", 443, True),
    ("api.example.com", "API.Example.COM.", 8080, True),  # any port; case and the root dot do not matter
    ("api.example.com", "example.com", 443, False),
    ("api.example.com", "api.example.com.evil.net", 443, False),
    ("api.example.com:8443", "api.example.com", 8443, True),
    ("api.example.com:8443", "api.example.com", 443, False),
    ("api.example.com:*", "api.example.com", 1, True),
    ("*.example.com", "a.example.com", 443, True),
    ("*.example.com", "a.b.example.com", 443, True),
    ("*.example.com", "example.com", 443, False),  # subdomains only
    ("*.example.com", "evil-example.com", 443, False),
    ("*.example.com:443", "a.example.com", 80, False),
    ("127.0.0.1:9000", "127.0.0.1", 9000, True),
    ("127.0.0.1:9000", "127.0.0.2", 9000, False),
    ("[::1]:8080", "::1", 8080, True),
    ("[::1]:8080", "[::1]", 8080, True),
    ("[::1]", "::1", 1234, True),
    ("[::1]:8080", "::1", 8081, False),
    ("*", "anything.at.all", 1, True),
]


@pytest.mark.parametrize(("pattern", "host", "port", "admitted"), CASES)
def test_pattern_admits(pattern: str, host: str, port: int, admitted: bool) -> None:
    assert allowed([parse_pattern(pattern)], host, port) is admitted


def test_an_empty_list_admits_nothing() -> None:
    assert not allowed([], "localhost", 80)


def test_any_pattern_of_several_admits() -> None:
    patterns = [parse_pattern("a.test"), parse_pattern("b.test:81")]
    assert allowed(patterns, "b.test", 81) and not allowed(patterns, "b.test", 80) and allowed(patterns, "a.test", 1)


@pytest.mark.parametrize("bad", ["", "http://api.example.com", "api.example.com/path", "host:0", "host:99999",
                                 "host:abc", "*.", "a*.example.com", "[::1", "[zz]:80", "a b"])
def test_unreadable_patterns_are_refused(bad: str) -> None:
    with pytest.raises(PatternError):
        parse_pattern(bad)
