"""lodash's get/set/unset/merge/assign/isEqual over JSON data, as n8n's nodes call them (paths, arrays, clones)."""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable
from typing import Any

from core.workflows.expr_values import UNDEFINED

# lodash's stringToPath: `a.b[0]["c.d"]` -> a, b, 0, c.d (a leading '.' is an empty first key).
_PROP = re.compile(r"""[^.[\]]+|\[(?:([^"'][^[]*)|(["'])((?:(?!\2)[^\\]|\\.)*?)\2)\]|(?=(?:\.|\[\])(?:\.|\[\]|$))""")
_DEEP = re.compile(r"""\.|\[(?:[^[\]]*|(["'])(?:(?!\1)[^\\]|\\.)*?\1)\]""")
_PLAIN = re.compile(r"^\w*$")
_INDEX = re.compile(r"^(?:0|[1-9]\d*)$")
_UNSAFE = {"__proto__", "constructor", "prototype"}

Customizer = Callable[[Any, Any], Any]


def path_of(path: str, target: Any = None) -> list[str]:
    """lodash's castPath: a key the object has as it is (even `a.b`), else the parsed path."""
    if _PLAIN.match(path) or not _DEEP.search(path) or (isinstance(target, dict) and path in target):
        return [path]
    parts: list[str] = [""] if path.startswith(".") else []
    for m in _PROP.finditer(path):
        if m.group(2):
            parts.append(re.sub(r"\\(\\)?", r"\1", m.group(3)))
        else:
            parts.append(m.group(1) if m.group(1) is not None else m.group(0))
    return parts


def is_index(key: str) -> bool:
    return bool(_INDEX.match(key)) and int(key) < 2**53


def _child(value: Any, key: str) -> Any:
    if isinstance(value, dict):
        return value.get(key, UNDEFINED)
    if isinstance(value, list | str):
        if key == "length":
            return len(value)
        if is_index(key) and int(key) < len(value):
            return value[int(key)]
    return UNDEFINED


def get(target: Any, path: str) -> Any:
    """The value at `path`, or UNDEFINED."""
    value = target
    for key in path_of(path, target):
        if value is None or value is UNDEFINED:
            return UNDEFINED
        value = _child(value, key)
    return value


def _put(container: Any, key: str, value: Any) -> None:
    if isinstance(container, dict):
        container[key] = value
    elif isinstance(container, list) and is_index(key):
        # JavaScript fills the gap with holes, which JSON writes as null.
        container.extend([None] * (int(key) + 1 - len(container)))
        container[int(key)] = value
    # Any other key on an array (or on a primitive) is not part of the JSON: lodash sets it where it is lost.


def set_path(target: dict[str, Any], path: str, value: Any) -> None:
    """lodash's set: the objects and arrays on the way are made (an array where the next key is an index)."""
    keys = path_of(path, target)
    cur: Any = target
    for i, key in enumerate(keys):
        if key in _UNSAFE:
            return
        if i == len(keys) - 1:
            _put(cur, key, value)
            return
        nxt = _child(cur, key)
        if not isinstance(nxt, dict | list):
            nxt = [] if is_index(keys[i + 1]) else {}
            _put(cur, key, nxt)
            if _child(cur, key) is not nxt:
                return
        cur = nxt


def unset(target: Any, path: str) -> None:
    keys = path_of(path, target)
    parent = target
    for key in keys[:-1]:
        parent = _child(parent, key)
    if isinstance(parent, dict):
        parent.pop(keys[-1], None)
    elif isinstance(parent, list) and is_index(keys[-1]) and int(keys[-1]) < len(parent):
        parent[int(keys[-1])] = None  # `delete arr[i]` leaves a hole


def _merge_value(obj: Any, src: Any, customizer: Customizer | None) -> Any:
    """What lodash's baseMerge assigns for one key: UNDEFINED to leave the target's value alone."""
    if customizer is not None:
        custom = customizer(obj, src)
        if custom is not UNDEFINED:
            return custom
    if isinstance(src, list):
        base: Any = obj if isinstance(obj, list) else []
        return _merge_into(base, src, customizer)
    if isinstance(src, dict):
        base = obj if isinstance(obj, dict | list) else {}
        return _merge_into(base, src, customizer)
    if src is UNDEFINED:
        return UNDEFINED
    return src


def _merge_into(target: Any, source: Any, customizer: Customizer | None) -> Any:
    pairs = enumerate(source) if isinstance(source, list) else source.items()
    for k, src in pairs:
        key = str(k)
        value = _merge_value(_child(target, key), src, customizer)
        if value is not UNDEFINED:
            _put(target, key, value)
    return target


def merge(*sources: Any, customizer: Customizer | None = None) -> dict[str, Any]:
    """`merge({}, ...sources)` (or `mergeWith`): nested objects merged, arrays merged index by index, copies."""
    out: dict[str, Any] = {}
    for source in sources:
        if isinstance(source, dict):
            _merge_into(out, copy.deepcopy(source), customizer)
    return out


def assign(*sources: Any, customizer: Customizer | None = None) -> dict[str, Any]:
    """`assign({}, ...sources)` (or `assignWith`): top-level keys only, the last source winning."""
    out: dict[str, Any] = {}
    for source in sources:
        for key, src in (source.items() if isinstance(source, dict) else []):
            value = customizer(out.get(key, UNDEFINED), src) if customizer is not None else UNDEFINED
            out[key] = copy.deepcopy(src if value is UNDEFINED else value)
    return out


def is_equal(a: Any, b: Any) -> bool:
    """lodash's isEqual: deep, numbers by value (NaN equals NaN), booleans never equal to numbers."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(is_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(is_equal(a[k], b[k]) for k in a)
    if type(a) is not type(b):
        return False
    return bool(a == b) if a is not UNDEFINED else b is UNDEFINED


def js_keys(obj: dict[str, Any]) -> list[str]:
    """Object.keys order: array-index keys ascending first, then the others as they were added."""
    indices = sorted((k for k in obj if is_index(k) and int(k) < 2**32 - 1), key=int)
    return indices + [k for k in obj if not (is_index(k) and int(k) < 2**32 - 1)]
