"""How n8n's HTTP Request turns nested values into query parameters (`a[b]=1`, arrays as `k[]`, `k[0]` or a
repeated `k`) and sets a body field by a lodash path (`a.b[0]`); pure."""

from __future__ import annotations

import re
from typing import Any

Scalar = str | int | float | bool | None
_PATH_PART = re.compile(r"[^.\[\]]+")


def flatten_query(query: dict[str, Any], arrays: str = "brackets") -> dict[str, Scalar | list[Scalar]]:
    """`query` with objects spelled out as `key[sub]` and arrays as `arrays` says: "brackets" (`k[]=1&k[]=2`,
    axios's default, which n8n uses unless told otherwise), "indices" (`k[0]=1`) or "repeat" (`k=1&k=2`)."""
    out: dict[str, Scalar | list[Scalar]] = {}
    for key, value in query.items():
        _add(out, str(key), value, arrays)
    return out


def _add(out: dict[str, Scalar | list[Scalar]], key: str, value: Any, arrays: str) -> None:
    if isinstance(value, dict):
        for sub, inner in value.items():
            _add(out, f"{key}[{sub}]", inner, arrays)
        return
    if not isinstance(value, list):
        out[key] = value if isinstance(value, Scalar) else str(value)
        return
    for i, inner in enumerate(value):
        if arrays == "indices" or isinstance(inner, dict | list):
            _add(out, f"{key}[{i}]", inner, arrays)
            continue
        name = key if arrays == "repeat" else f"{key}[]"
        previous = out.get(name)
        out[name] = [*previous, inner] if isinstance(previous, list) else [inner]


def set_path(target: dict[str, Any], path: str, value: Any) -> None:
    """lodash's `set(target, path, value)`: `a.b` and `a[0]` create the objects and arrays on the way."""
    parts: list[str | int] = [int(p) if p.isdigit() else p for p in _PATH_PART.findall(path)] or [path]
    node: Any = target
    for part, after in zip(parts, parts[1:], strict=False):
        child = _get(node, part)
        if not isinstance(child, dict | list):
            child = [] if isinstance(after, int) else {}
            _put(node, part, child)
        node = child
    _put(node, parts[-1], value)


def _get(node: dict[str, Any] | list[Any], key: str | int) -> Any:
    if isinstance(node, list):
        return node[key] if isinstance(key, int) and key < len(node) else None
    return node.get(str(key))


def _put(node: dict[str, Any] | list[Any], key: str | int, value: Any) -> None:
    if isinstance(node, list):
        if isinstance(key, int):  # a name part on an array is dropped, as JSON would drop it
            node.extend([None] * (key + 1 - len(node)))
            node[key] = value
        return
    node[str(key)] = value
