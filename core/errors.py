"""The root of Hive's error hierarchy; each package's errors derive from HiveError."""

from __future__ import annotations


class HiveError(Exception):
    """Anything Hive raises on purpose."""


class DomainError(HiveError):
    """A command that the aggregate's current state does not allow."""


class StaleReport(DomainError):
    """A report from an earlier assignment (fencing): it is recorded, never applied."""


class ConcurrencyError(HiveError):
    """An append lost the optimistic-concurrency race: reload the aggregate and decide again."""

    def __init__(self, subject: str, expected: int) -> None:
        super().__init__(f"{subject}: expected last sequence {expected} but the stream has moved on")
        self.subject = subject
        self.expected = expected


class ConfigError(HiveError):
    """Settings that cannot work (a missing key file, an unknown option): reported at start, before serving."""
