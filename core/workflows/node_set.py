"""The Set (Edit Fields) node, every typeVersion: v1/v2 `values`, v3.0-3.2 `fields`, v3.3+ `assignments`, raw JSON."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from core.workflows.context import RunView
from core.workflows.errors import NodeFailed
from core.workflows.expr_values import from_json, to_json_value, to_number, to_string
from core.workflows.items import Item, derive
from core.workflows.model import Node
from core.workflows.node_params import option, resolve_param

_PATH = re.compile(r"[^.\[\]]+|\[(\d+)\]")


def _path(name: str) -> list[str | int]:
    parts: list[str | int] = []
    for m in _PATH.finditer(name):
        parts.append(int(m.group(1)) if m.group(1) is not None else m.group(0))
    return parts or [name]


def set_path(target: dict[str, Any], name: str, value: Any, dot: bool = True) -> None:
    """lodash's set: `a.b[0].c` creates the objects and arrays on the way (dot notation unless turned off)."""
    if not dot or ("." not in name and "[" not in name):
        target[name] = value
        return
    parts = _path(name)
    cur: Any = target
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        nxt: Any = [] if not last and isinstance(parts[i + 1], int) else {}
        if isinstance(cur, list) and isinstance(part, int):
            while len(cur) <= part:
                cur.append(None)
            if last:
                cur[part] = value
            else:
                if not isinstance(cur[part], dict | list):
                    cur[part] = nxt
                cur = cur[part]
        elif isinstance(cur, dict):
            key = str(part)
            if last:
                cur[key] = value
            else:
                if not isinstance(cur.get(key), dict | list):
                    cur[key] = nxt
                cur = cur[key]
        else:
            return


def _convert(name: str, kind: str, value: Any, ignore_errors: bool) -> Any:
    kind = kind.replace("Value", "")
    try:
        if kind == "string":
            return json.dumps(to_json_value(value), separators=(",", ":")) if isinstance(value, dict | list) \
                else ("" if value is None else to_string(value))
        if kind == "number":
            if isinstance(value, int | float) and not isinstance(value, bool):
                return value
            x = to_number(value)
            if value is None or value == "" or isinstance(x, float) and x != x:
                raise ValueError
            return x
        if kind == "boolean":
            if isinstance(value, bool):
                return value
            text = to_string(value).strip().lower()
            if text in ("true", "1", "yes"):
                return True
            if text in ("false", "0", "no", ""):
                return False
            raise ValueError
        if kind in ("array", "object"):
            parsed = from_json(value) if isinstance(value, str) else value
            if kind == "array" and not isinstance(parsed, list) or kind == "object" and not isinstance(parsed, dict):
                raise ValueError
            return parsed
    except (ValueError, NodeFailed, Exception) as err:  # noqa: BLE001 - any failed conversion is the same error
        if ignore_errors:
            return value
        raise NodeFailed(f"'{name}' expects a {kind} but we got {to_string(value)!r}") from err
    return value


def _fields(node: Node, view: RunView, items: list[Item], i: int) -> list[tuple[str, Any]]:
    v = node.type_version
    ignore = option(node.parameters, "options", "ignoreConversionErrors", default=False) is True
    out: list[tuple[str, Any]] = []
    if v >= 3.3:
        for a in option(resolve_param(node, "assignments", view, items, i, {}), "assignments", default=[]) or []:
            if isinstance(a, dict):
                name = to_string(a.get("name", ""))
                out.append((name, _convert(name, str(a.get("type", "string")), a.get("value"), ignore)))
    elif v >= 3:
        for f in option(resolve_param(node, "fields", view, items, i, {}), "values", default=[]) or []:
            if isinstance(f, dict):
                kind = str(f.get("type", "stringValue"))
                name = to_string(f.get("name", ""))
                out.append((name, _convert(name, kind, f.get(kind if kind in f else kind.replace("Value", "")), ignore)))
    else:
        values = resolve_param(node, "values", view, items, i, {}) or {}
        for kind in ("boolean", "number", "string"):
            for f in values.get(kind, []) if isinstance(values, dict) else []:
                if isinstance(f, dict):
                    default: Any = {"boolean": False, "number": 0, "string": ""}[kind]
                    out.append((to_string(f.get("name", "propertyName")), f.get("value", default)))
    return out


def _include(node: Node) -> str:
    p, v = node.parameters, node.type_version
    if v < 3:
        return "none" if p.get("keepOnlySet") is True else "all"
    if v >= 3.3:
        return str(p.get("include", "all")) if p.get("includeOtherFields") is True else "none"
    return str(p.get("include", "all"))


def _base(node: Node, item: Item, include: str, dot: bool) -> dict[str, Any]:
    if include == "all":
        return copy.deepcopy(item.json)
    if include == "none":
        return {}
    names = [s.strip() for s in to_string(node.parameters.get(
        "includeFields" if include == "selected" else "excludeFields", "")).split(",") if s.strip()]
    if include == "selected":
        return {n: copy.deepcopy(item.json[n]) for n in names if n in item.json}
    if include == "except":
        return {k: copy.deepcopy(val) for k, val in item.json.items() if k not in names}
    raise NodeFailed(f"unknown include option {include!r}")


def run_set(node: Node, items: list[Item], view: RunView) -> list[list[Item]]:
    dot = option(node.parameters, "options", "dotNotation", default=True) is not False
    include = _include(node)
    out = []
    for i, item in enumerate(items):
        data = _base(node, item, include, dot)
        if node.parameters.get("mode") == "raw":
            raw = resolve_param(node, "jsonOutput", view, items, i, "{}")
            parsed = from_json(raw) if isinstance(raw, str) else raw
            if not isinstance(parsed, dict):
                raise NodeFailed(f"'JSON Output' in item {i} is not a valid JSON object", i)
            for k, val in parsed.items():
                data[k] = val
        else:
            try:
                for name, value in _fields(node, view, items, i):
                    set_path(data, name, value, dot)
            except NodeFailed as err:
                raise NodeFailed(str(err), i) from err
        out.append(derive(item, data, node.name, 0, i))
    return [out]
