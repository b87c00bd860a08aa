"""The sidecar's error hierarchy, rooted at core's HiveError."""

from __future__ import annotations

from core.errors import HiveError


class SidecarError(HiveError):
    """Anything the sidecar raises on purpose."""


class ConfigError(SidecarError):
    """The sidecar config file is missing, not TOML, or has a bad field (the message names it)."""


def located(message: str, where: str) -> str:
    """A msgspec validation message with its path put under `where` (`$.url` -> `$.payload.request.url`); a message
    about the object itself, which msgspec gives no path, is placed at `where`."""
    if "at `$" in message:
        return message.replace("at `$", f"at `{where}")
    return f"{message} - at `{where}`"
