"""How an HTTP credential is named across Hive: a workflow refers to it by name, an agent holding it advertises the
capability `http.cred.<slug>`, and both sides derive the slug here so placement and lookup always agree; pure."""

from __future__ import annotations

import hashlib
import re

CAPABILITY_PREFIX = "http.cred."
# A capability is at most 64 characters ([a-z0-9_.-]); the prefix takes 10 of them.
_MAX_SLUG = 64 - len(CAPABILITY_PREFIX)
_PLAIN = re.compile(r"^[a-z0-9_-]+$")
_OTHER = re.compile(r"[^a-z0-9_]+")


def credential_slug(name: str) -> str:
    """The name lowercased with spaces as '-' when that is all it takes ("Tunova API key" -> "tunova-api-key");
    otherwise a readable part and 8 hex digits of the name's SHA-256 ("DaoXE (Header Auth)" ->
    "daoxe-header-auth-903de94a"), so that two names differing only in punctuation do not share a capability."""
    lowered = name.strip().lower().replace(" ", "-")
    if _PLAIN.match(lowered) and len(lowered) <= _MAX_SLUG:
        return lowered
    digest = hashlib.sha256(lowered.encode()).hexdigest()[:8]
    readable = _OTHER.sub("-", lowered).strip("-")[:_MAX_SLUG - 9].strip("-")
    return f"{readable}-{digest}" if readable else digest


def credential_capability(name: str) -> str:
    """The capability an agent holding the credential `name` advertises, and a task using it requires."""
    return CAPABILITY_PREFIX + credential_slug(name)
