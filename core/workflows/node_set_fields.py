"""What a Set node sets on one item, per typeVersion: v1/v2 `values`, v3.0-3.2 `fields`, v3.3+ `assignments`,
and the raw JSON mode (n8n's SetV1, SetV2 manual.mode / raw.mode)."""

from __future__ import annotations

import json
from typing import Any

from core.workflows.context import ItemScope, RunView
from core.workflows.errors import ExpressionError, NodeFailed
from core.workflows.expr_values import UNDEFINED, to_json_value, to_number, to_string, truthy
from core.workflows.expressions import compile_template, join_template, plain_value
from core.workflows.items import Item
from core.workflows.model import Node
from core.workflows.node_params import option, resolve_param, resolve_raw
from core.workflows.set_values import parse_json_parameter, validate_entry

# What n8n fills in for a value an export leaves out (v3.0-3.2's `fields.values` entries; objectValue's default
# is the expression `={}`, here already evaluated).
_V3_DEFAULTS: dict[str, Any] = {"stringValue": "", "numberValue": "", "booleanValue": "true", "arrayValue": "",
                                "objectValue": {}}


def v1_fields(node: Node, view: RunView, items: list[Item], i: int) -> list[tuple[str, Any]]:
    """Booleans (JavaScript truthiness), then numbers (v2 turns numeric text into a number), then strings."""
    values = resolve_param(node, "values", view, items, i, {}) or {}
    out: list[tuple[str, Any]] = []
    for kind, default in (("boolean", False), ("number", 0), ("string", "")):
        for f in values.get(kind, []) if isinstance(values, dict) else []:
            if not isinstance(f, dict):
                continue
            value = f.get("value", default)
            if kind == "boolean":
                value = truthy(value)
            elif kind == "number" and node.type_version >= 2 and isinstance(value, str):
                x = to_number(value)
                value = value if isinstance(x, float) and x != x else x
            out.append((to_string(f.get("name", "propertyName")), value))
    return out


def _plain(value: Any) -> Any:
    return UNDEFINED if value is UNDEFINED else plain_value(value)


def v3_fields(node: Node, view: RunView, items: list[Item], i: int, ignore: bool) -> dict[str, Any]:
    """The typed fields by name (a later field of the same name replaces an earlier one, as keys of n8n's object)."""
    v = node.type_version
    out: dict[str, Any] = {}
    if v >= 3.3:
        collection = resolve_raw(node, "assignments", view, items, i, {})
        for a in option(collection, "assignments", default=[]) or []:
            if isinstance(a, dict):
                name = to_string(_plain(a.get("name", "")))
                out[name] = validate_entry(name, str(a.get("type", "string")), _plain(a.get("value")), i, ignore, v)
        return out
    raw = node.parameters.get("fields")
    resolved = resolve_raw(node, "fields", view, items, i, {})
    for k, f in enumerate(option(resolved, "values", default=[]) or []):
        if not isinstance(f, dict):
            continue
        kind = str(f.get("type", "stringValue"))
        name = to_string(_plain(f.get("name", "")))
        key = kind if kind in f or kind in _V3_DEFAULTS else kind.replace("Value", "")
        value = _plain(f.get(key, _V3_DEFAULTS.get(kind, UNDEFINED)))
        literal = _raw_entry(raw, k).get(key)
        if kind == "objectValue" and isinstance(literal, str) and literal.startswith("="):
            # n8n evaluates an object field's text itself, then mends and parses the JSON.
            value = parse_json_parameter(raw_data(node, literal, view, items, i), i, name)
        out[name] = validate_entry(name, kind.replace("Value", ""), value, i, ignore, v)
    return out


def _raw_entry(raw: Any, k: int) -> dict[str, Any]:
    values = option(raw, "values", default=[])
    entry = values[k] if isinstance(values, list) and k < len(values) else None
    return entry if isinstance(entry, dict) else {}


def raw_fields(node: Node, view: RunView, items: list[Item], i: int) -> dict[str, Any]:
    """JSON mode: an expression's text is evaluated piece by piece (objects written as JSON), then parsed."""
    raw = node.parameters.get("jsonOutput", "{\n  \"my_field_1\": \"value\",\n  \"my_field_2\": 1\n}\n")
    if isinstance(raw, str) and raw.startswith("="):
        return parse_json_parameter(raw_data(node, raw, view, items, i), i)
    return parse_json_parameter(resolve_param(node, "jsonOutput", view, items, i, raw), i)


def _raw_text(value: Any) -> str:
    if value is UNDEFINED:
        return "undefined"
    if value is None or isinstance(value, str | bool | int | float):
        return to_string(value)
    return json.dumps(to_json_value(value), ensure_ascii=False, separators=(",", ":"))


def raw_data(node: Node, text: str, view: RunView, items: list[Item], i: int) -> str:
    """n8n's resolveRawData: each `{{ }}` replaced by its value's text (undefined and null spelled out)."""
    try:
        return join_template(compile_template(text.lstrip("=")), ItemScope(view, node.name, items, i), _raw_text)
    except ExpressionError as err:
        raise NodeFailed(str(err.at(node.name, "parameters")), i) from err
