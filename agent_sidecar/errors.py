"""The sidecar's error hierarchy, rooted at core's HiveError."""

from __future__ import annotations

from core.errors import HiveError


class SidecarError(HiveError):
    """Anything the sidecar raises on purpose."""


class ConfigError(SidecarError):
    """The sidecar config file is missing, not TOML, or has a bad field (the message names it)."""
