"""Form bodies for the http executor: `application/x-www-form-urlencoded` and `multipart/form-data` from an object
of fields (a list sends the field once per value); pure, no I/O."""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import urlencode

import orjson


def field_text(value: Any) -> str:
    """A field's value as a form sends it: booleans as true/false, null as empty, objects as JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return str(value)


def _pairs(fields: dict[str, Any]) -> list[tuple[str, str]]:
    return [(str(name), field_text(v)) for name, value in fields.items()
            for v in (value if isinstance(value, list) else [value])]


def urlencoded(fields: dict[str, Any]) -> bytes:
    return urlencode(_pairs(fields)).encode()


def multipart(fields: dict[str, Any]) -> tuple[bytes, str]:
    """The body and its content type (with the boundary). The boundary is derived from the fields, so the same
    task sends the same bytes on every attempt, and it is checked to occur nowhere in them."""
    pairs = _pairs(fields)
    seed = hashlib.sha256(orjson.dumps(pairs)).hexdigest()
    boundary = f"hive-{seed[:32]}"
    while any(boundary in name or boundary in value for name, value in pairs):
        seed = hashlib.sha256(seed.encode()).hexdigest()
        boundary = f"hive-{seed[:32]}"
    parts = []
    for name, value in pairs:
        quoted = name.replace("\\", "\\\\").replace('"', '\\"').replace("\r", " ").replace("\n", " ")
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{quoted}"\r\n\r\n'.encode()
                     + value.encode() + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"
