"""The dev stack's JWT secret: generated once into <home>/jwt_secret (mode 0600), reused on every restart."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

SECRET_FILE = "jwt_secret"


def secret_path(home: Path) -> Path:
    return Path(home) / SECRET_FILE


def read_secret(home: Path) -> str | None:
    """The secret a previous `hive dev` stored in `home`, or None when there is none (yet)."""
    try:
        value = secret_path(home).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return value or None


def ensure_secret(home: Path) -> str:
    """Return the stored secret, creating it (readable by its owner only) on first use."""
    existing = read_secret(home)
    if existing:
        return existing
    path = secret_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    # O_EXCL: two stacks racing on one home never end up with different keys; the loser reads the winner's.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raced = read_secret(home)
        if raced:
            return raced
        # An empty file left by a crash mid-write: replace it.
        path.unlink()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(value + "\n")
    return value
