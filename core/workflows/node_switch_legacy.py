"""Switch v1 and v2 (n8n's SwitchV1/SwitchV2): `value1` of one data type against each rule's `value2`, or an
expression naming the output; pure functions of the items."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from core.workflows.context import RunView
from core.workflows.errors import NodeFailed
from core.workflows.expr_values import compare, strict_equal, to_string, truthy
from core.workflows.items import Item, Outputs
from core.workflows.model import Node
from core.workflows.node_params import resolve_param
from core.workflows.node_routing import route_items
from core.workflows.outcomes import ItemErrors

V1_OUTPUTS = 4  # SwitchV1 always has outputs 0..3
# n8n leaves parameters at their default out of an export, so a missing one means its default.
VALUE1_DEFAULT = {"boolean": False, "dateTime": "", "number": 0, "string": ""}
VALUE2_DEFAULT = {"boolean": False, "dateTime": 0, "number": 0, "string": ""}
OPERATION_DEFAULT = {"boolean": "equal", "dateTime": "after", "number": "smaller", "string": "equal"}
OPERATIONS = {
    "boolean": ("equal", "notEqual"),
    "dateTime": ("after", "before"),
    "number": ("smaller", "smallerEqual", "equal", "notEqual", "larger", "largerEqual"),
    "string": ("contains", "notContains", "endsWith", "notEndsWith", "equal", "notEqual", "regex", "notRegex",
               "startsWith", "notStartsWith"),
}
_RELATIONS = {"after": ">", "larger": ">", "before": "<", "smaller": "<", "largerEqual": ">=", "smallerEqual": "<="}


def legacy_output_count(node: Node) -> int:
    p = node.parameters
    if node.type_version < 2:
        return V1_OUTPUTS
    if p.get("mode") == "expression":
        n = p.get("outputsAmount", 4)
        return n if isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= 64 else 4
    rules = p.get("rules", {}).get("rules", []) if isinstance(p.get("rules"), dict) else []
    return len(rules) if isinstance(rules, list) else 0


def run_legacy_switch(node: Node, items: list[Item], view: RunView, errors: ItemErrors | None = None) -> Outputs:
    """`errors` given (the node continues on failure): as n8n's SwitchV1/V2, an item that fails becomes `{error}` on
    output 0 and the others are routed."""
    count = legacy_output_count(node)
    data_type = to_string(resolve_param(node, "dataType", view, items, 0, "number")) if items else "number"
    return route_items(node, items, count, lambda i: _targets(node, view, items, i, data_type, count), errors)


def _targets(node: Node, view: RunView, items: list[Item], i: int, data_type: str, count: int) -> list[int]:
    if resolve_param(node, "mode", view, items, i, "rules") == "expression":
        default = 0 if node.type_version < 2 else ""
        return [_checked(resolve_param(node, "output", view, items, i, default), count)]
    if data_type not in OPERATIONS:
        raise NodeFailed(f"unknown dataType {data_type!r} (one of {', '.join(OPERATIONS)})")
    value1 = _date(resolve_param(node, "value1", view, items, i, VALUE1_DEFAULT[data_type]), data_type)
    rules = resolve_param(node, "rules", view, items, i, {})
    for r, rule in enumerate(rules.get("rules", []) if isinstance(rules, dict) else []):
        if not isinstance(rule, dict):
            continue
        value2 = _date(rule.get("value2", VALUE2_DEFAULT[data_type]), data_type)
        if _passes(str(rule.get("operation", OPERATION_DEFAULT[data_type])), value1, value2):
            # v1 sends to the rule's `output`; v2 has one output per rule.
            return [_checked(rule.get("output", 0), count)] if node.type_version < 2 else [r]
    fallback = resolve_param(node, "fallbackOutput", view, items, i, -1)
    if _index(fallback) == -1:
        return []
    return [_checked(fallback, count)]


def _index(value: Any) -> int | None:
    """An output index as JavaScript would use it to index an array: an integer, or a string of one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    return None


def _checked(value: Any, count: int) -> int:
    index = _index(value)
    if index is None or not 0 <= index < count:
        raise NodeFailed(f"the output {to_string(value)!r} is not allowed: it has to be between 0 and {count - 1}")
    return index


def _date(value: Any, data_type: str) -> Any:
    """SwitchV1/V2 compare dates as milliseconds since the epoch."""
    if data_type != "dateTime":
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None:
            return int((parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp() * 1000)
    raise NodeFailed(f'the value "{to_string(value)}" is not a valid DateTime')


def _or(value: Any, default: Any) -> Any:
    return value if truthy(value) else default


def _passes(operation: str, value1: Any, value2: Any) -> bool:
    if operation in _RELATIONS:
        return compare(_RELATIONS[operation], _or(value1, 0), _or(value2, 0))
    if operation in ("equal", "notEqual"):
        return strict_equal(value1, value2) is (operation == "equal")
    if operation in ("contains", "notContains"):
        return (to_string(_or(value2, "")) in to_string(_or(value1, ""))) is (operation == "contains")
    if operation in ("regex", "notRegex"):
        found = _pattern(to_string(_or(value2, ""))).search(to_string(_or(value1, ""))) is not None
        return found is (operation == "regex")
    if operation in ("startsWith", "notStartsWith", "endsWith", "notEndsWith"):
        if not isinstance(value1, str):
            raise NodeFailed(f"value1 is not a string ({to_string(value1)!r}), so {operation} cannot test it")
        test = value1.startswith if "tartsWith" in operation else value1.endswith
        return test(to_string(value2)) is not operation.startswith("not")
    raise NodeFailed(f"unknown operation {operation!r}")


def _pattern(text: str) -> re.Pattern[str]:
    """A regex as n8n reads one: `/source/flags`, or the whole text as the source."""
    m = re.fullmatch(r"/(.*?)/([dgimsuy]*)", text, re.DOTALL)
    source, flags = (m.group(1), m.group(2)) if m else (text, "")
    try:
        return re.compile(source, (re.IGNORECASE if "i" in flags else 0) | (re.MULTILINE if "m" in flags else 0)
                          | (re.DOTALL if "s" in flags else 0))
    except re.error as err:
        raise NodeFailed(f"invalid regular expression {source!r}: {err}") from err
