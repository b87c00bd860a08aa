"""Resolving a node's parameters for one item, with errors that name the node and the parameter."""

from __future__ import annotations

import copy
from typing import Any

from core.workflows.context import ItemScope, RunView
from core.workflows.errors import ExpressionError, NodeFailed
from core.workflows.expressions import plain_value, resolve
from core.workflows.items import Item
from core.workflows.model import Node


def resolve_param(node: Node, name: str, view: RunView, items: list[Item], index: int, default: Any = None) -> Any:
    """Parameter `name` (a top-level key) of `node` evaluated for `items[index]`, as plain JSON data."""
    raw = node.parameters.get(name, default)
    try:
        return plain_value(resolve(copy.deepcopy(raw), ItemScope(view, node.name, items, index)))
    except ExpressionError as err:
        raise NodeFailed(str(err.at(node.name, f"parameters.{name}")), index) from err
    except RecursionError as err:
        raise NodeFailed(f"node {node.name!r}: parameters.{name} nests too deeply", index) from err


def resolve_raw(node: Node, name: str, view: RunView, items: list[Item], index: int, default: Any = None) -> Any:
    """Like resolve_param, but an expression's value keeps its JavaScript form (undefined stays undefined)."""
    raw = node.parameters.get(name, default)
    try:
        return resolve(copy.deepcopy(raw), ItemScope(view, node.name, items, index))
    except ExpressionError as err:
        raise NodeFailed(str(err.at(node.name, f"parameters.{name}")), index) from err


def option(params: Any, *path: str, default: Any = None) -> Any:
    """A nested value (`options.response.response.fullResponse`) or `default`."""
    value = params
    for part in path:
        if not isinstance(value, dict) or part not in value:
            return default
        value = value[part]
    return value
