"""<home>/endpoints.json: where the running dev stack's servers are, for people and scripts."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

ENDPOINTS_FILE = "endpoints.json"


def endpoints_path(home: Path) -> Path:
    return Path(home) / ENDPOINTS_FILE


def write_endpoints(home: Path, endpoints: dict[str, Any]) -> Path:
    """Write atomically (temp file + rename), so a reader never sees half a file."""
    path = endpoints_path(home)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(endpoints, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def read_endpoints(home: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(endpoints_path(home).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    return value if isinstance(value, dict) else None
