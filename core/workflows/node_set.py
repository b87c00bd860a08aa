"""The Set (Edit Fields) node, every typeVersion: which input fields an item keeps (n8n's composeReturnItem), then
the fields it sets (node_set_fields), with or without dot notation."""

from __future__ import annotations

import copy
from typing import Any

from core.workflows import lodash
from core.workflows.context import RunView
from core.workflows.errors import ExpressionError, NodeFailed
from core.workflows.expr_values import UNDEFINED, to_string
from core.workflows.items import Item
from core.workflows.model import Node
from core.workflows.node_params import resolve_param
from core.workflows.node_set_fields import raw_fields, v1_fields, v3_fields
from core.workflows.outcomes import ItemErrors

INCLUDES = ("all", "none", "selected", "except")


def _sanitized(target: dict[str, Any], key: str) -> str:
    """n8n's sanitizeDataPathKey: `['a.b']` names the key `a.b` when there is one."""
    if key in target:
        return key
    if len(key) >= 4 and key[:2] in ("['", '["') and key[-2:] in ("']", '"]') and key[2:-2] in target:
        return key[2:-2]
    return key


def put(target: dict[str, Any], name: str, value: Any, dots: bool) -> None:
    if value is UNDEFINED:
        return  # JSON has no undefined: the key would not come out
    if dots:
        lodash.set_path(target, name, value)
    else:
        target[_sanitized(target, name)] = value


def _csv(node: Node, name: str, view: RunView, items: list[Item], i: int) -> list[str]:
    text = to_string(resolve_param(node, name, view, items, i, ""))
    return [part.strip() for part in text.split(",") if part.strip()]


def _base(node: Node, view: RunView, items: list[Item], i: int, include: str, dots: bool) -> dict[str, Any]:
    item = items[i]
    if include == "all":
        return copy.deepcopy(item.json)
    if include == "none":
        return {}
    if include == "selected":
        out: dict[str, Any] = {}
        for key in _csv(node, "includeFields", view, items, i):
            value = lodash.get(item.json, key) if dots else item.json.get(_sanitized(item.json, key), UNDEFINED)
            put(out, key.split(".")[-1] if dots and "." in key else key, copy.deepcopy(value), dots)
        return out
    if include == "except":
        data = copy.deepcopy(item.json)
        for key in _csv(node, "excludeFields", view, items, i):
            if dots:
                lodash.unset(data, key)
            else:
                data.pop(_sanitized(data, key), None)
        return data
    raise NodeFailed(f'The include option "{include}" is not known!', i)


def _include(node: Node, view: RunView, items: list[Item], i: int) -> str:
    include = to_string(resolve_param(node, "include", view, items, i, "all"))
    if node.type_version < 3.3:
        return include
    return include if resolve_param(node, "includeOtherFields", view, items, i, False) is True else "none"


def _binary(node: Node, item: Item, options: dict[str, Any], include: str) -> dict[str, Any] | None:
    if item.binary is None:
        return None
    if node.type_version >= 3.4:
        keep = not options.get("stripBinary") and include != "none"
    else:
        keep = bool(options.get("includeBinary"))
    return dict(item.binary) if keep else None


def run_set(node: Node, items: list[Item], view: RunView, errors: ItemErrors | None = None) -> list[list[Item]]:
    """`errors` given (the node continues on failure): from v3 on, as n8n's Set, an item that fails becomes
    `{error}` and the others go on; v1/v2 fail as a whole."""
    out: list[Item] = []
    for i, item in enumerate(items):
        try:
            out.append(_v1_item(node, items, i, view) if node.type_version < 3 else _v3_item(node, items, i, view))
        except (NodeFailed, ExpressionError) as err:
            if errors is None or node.type_version < 3:
                raise NodeFailed(str(err), i) from err
            out.append(errors.item(item, 0, len(out), str(err)))
    return [out]


def _v1_item(node: Node, items: list[Item], i: int, view: RunView) -> Item:
    item = items[i]
    options = resolve_param(node, "options", view, items, i, {})
    dots = not (isinstance(options, dict) and options.get("dotNotation") is False)
    keep_only = resolve_param(node, "keepOnlySet", view, items, i, False) is True
    data = {} if keep_only else copy.deepcopy(item.json)
    for name, value in v1_fields(node, view, items, i):
        put(data, name, value, dots)
    return Item(json=data, binary=None if keep_only else item.binary, paired={**item.paired, node.name: [0, i]})


def _v3_item(node: Node, items: list[Item], i: int, view: RunView) -> Item:
    item = items[i]
    options = resolve_param(node, "options", view, items, i, {})
    options = options if isinstance(options, dict) else {}
    dots = options.get("dotNotation") is not False
    include = _include(node, view, items, i)
    if node.parameters.get("mode", "manual") == "raw":
        fields = raw_fields(node, view, items, i)
    else:
        fields = v3_fields(node, view, items, i, options.get("ignoreConversionErrors") is True)
    data = _base(node, view, items, i, include, dots)
    for name in lodash.js_keys(fields):
        put(data, name, fields[name], dots)
    binary = _binary(node, item, options, include)
    return Item(json=data, binary=binary, paired={**item.paired, node.name: [0, i]})
