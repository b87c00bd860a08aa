"""Upload-time checks of Set, If, Respond to Webhook and Webhook, per typeVersion: option values n8n does not have,
configurations n8n refuses when it runs them, and what Hive does not do (binary data, JWT). Expressions are left
to run time."""

from __future__ import annotations

from typing import Any

from core.workflows.catalog import CHAT_TRIGGER, IF, RESPOND, SET, WAIT, WEBHOOK
from core.workflows.conditions_v1 import KINDS, OPERATIONS
from core.workflows.graph import Graph, reachable
from core.workflows.model import Node
from core.workflows.node_misc import RESPOND_WITH
from core.workflows.node_set import INCLUDES
from core.workflows.node_params import option

Found = list[tuple[str, str]]
_FIELD_TYPES = ("stringValue", "numberValue", "booleanValue", "arrayValue", "objectValue")
_ASSIGNMENT_TYPES = ("string", "number", "boolean", "array", "object")
# The operations n8n's filter evaluates, per type (executeFilterCondition).
FILTER_OPERATIONS = {
    "string": ("exists", "notExists", "empty", "notEmpty", "equals", "notEquals", "contains", "notContains",
               "startsWith", "notStartsWith", "endsWith", "notEndsWith", "regex", "notRegex"),
    "number": ("exists", "notExists", "empty", "notEmpty", "equals", "notEquals", "gt", "lt", "gte", "lte"),
    "dateTime": ("exists", "notExists", "empty", "notEmpty", "equals", "notEquals", "after", "before",
                 "afterOrEquals", "beforeOrEquals"),
    "boolean": ("exists", "notExists", "empty", "notEmpty", "true", "false", "equals", "notEquals"),
    "array": ("exists", "notExists", "empty", "notEmpty", "contains", "notContains", "lengthEquals",
              "lengthNotEquals", "lengthGt", "lengthLt", "lengthGte", "lengthLte"),
    "object": ("exists", "notExists", "empty", "notEmpty"),
}
# Parents a Respond to Webhook v1.1+ needs one of (n8n fails it with "No Webhook node found in the workflow").
_ANSWERABLE = (WEBHOOK, WAIT, CHAT_TRIGGER)


def _literal(value: Any) -> bool:
    return not (isinstance(value, str) and value.startswith("="))


def _bad(value: Any, allowed: tuple[str, ...]) -> bool:
    return _literal(value) and value not in allowed


def builtin_problems(node: Node, graph: Graph) -> Found:
    if node.type == SET:
        return _set(node)
    if node.type == IF:
        return _if(node)
    if node.type == RESPOND:
        return _respond(node, graph)
    if node.type == WEBHOOK:
        return _webhook(node, graph)
    return []


def _set(node: Node) -> Found:
    p, v = node.parameters, node.type_version
    if v < 3:
        return []
    out: Found = []
    mode = p.get("mode", "manual")
    if _bad(mode, ("manual", "raw")):
        out.append((".mode", f"mode {mode!r} does not exist (manual or raw)"))
    include = p.get("include", "all")
    if (v < 3.3 or p.get("includeOtherFields") is True) and _bad(include, INCLUDES):
        out.append((".include", f"include {include!r} does not exist ({', '.join(INCLUDES)})"))
    if mode == "raw":
        # Left out, it is n8n's default JSON; present but empty, every item fails to parse.
        if p.get("jsonOutput", "{}") in ("", "="):
            out.append((".jsonOutput", "'JSON Output' is empty: n8n fails every item with 'contains invalid JSON'"))
        return out
    if v < 3.3:
        for k, f in enumerate(option(p, "fields", "values", default=[]) or []):
            kind = f.get("type", "stringValue") if isinstance(f, dict) else None
            if kind is not None and _bad(kind, _FIELD_TYPES):
                out.append((f".fields.values[{k}].type", f"field type {kind!r} does not exist in this typeVersion "
                                                         f"({', '.join(_FIELD_TYPES)})"))
        return out
    for k, a in enumerate(option(p, "assignments", "assignments", default=[]) or []):
        kind = a.get("type", "string") if isinstance(a, dict) else None
        if kind is not None and _bad(kind, _ASSIGNMENT_TYPES):
            out.append((f".assignments.assignments[{k}].type",
                        f"assignment type {kind!r} is not supported ({', '.join(_ASSIGNMENT_TYPES)}); Hive moves "
                        "no binary data between nodes"))
    return out


def _if(node: Node) -> Found:
    p = node.parameters
    if node.type_version < 2:
        out = [(".combineOperation", f"combineOperation {p['combineOperation']!r} does not exist (all or any)")
               ] if _bad(p.get("combineOperation", "all"), ("all", "any")) else []
        conditions: dict[str, Any] = p["conditions"] if isinstance(p.get("conditions"), dict) else {}
        for kind in KINDS:
            listed = conditions.get(kind, [])
            for k, c in enumerate(listed if isinstance(listed, list) else []):
                op = c.get("operation") if isinstance(c, dict) else None
                if op is not None and _bad(op, OPERATIONS[kind]):
                    out.append((f".conditions.{kind}[{k}].operation",
                                f"{kind} operation {op!r} does not exist (one of {', '.join(OPERATIONS[kind])})"))
        return out
    return filter_problems(p.get("conditions"), ".conditions")


def filter_problems(spec: Any, at: str) -> Found:
    """A filter's combinator and each condition's operator, as n8n's filter can evaluate them."""
    if not isinstance(spec, dict):
        return []
    out: Found = []
    if "combinator" in spec and _bad(spec["combinator"], ("and", "or")):
        out.append((f"{at}.combinator", f"combinator {spec['combinator']!r} does not exist (and or or)"))
    conditions = spec.get("conditions")
    for k, c in enumerate(conditions if isinstance(conditions, list) else []):
        operator = c.get("operator") if isinstance(c, dict) else None
        if not isinstance(operator, dict):
            continue
        kind, op = operator.get("type", "string"), operator.get("operation", "equals")
        if kind not in FILTER_OPERATIONS:
            out.append((f"{at}.conditions[{k}].operator.type", f"operator type {kind!r} does not exist "
                                                                f"({', '.join(FILTER_OPERATIONS)})"))
        elif op not in FILTER_OPERATIONS[kind]:
            out.append((f"{at}.conditions[{k}].operator.operation",
                        f"{kind} operation {op!r} does not exist (one of {', '.join(FILTER_OPERATIONS[kind])})"))
    return out


def _ancestors(graph: Graph, name: str) -> set[str]:
    seen: set[str] = set()
    todo = [name]
    while todo:
        for edge in graph.incoming.get(todo.pop(), []):
            if edge.source not in seen:
                seen.add(edge.source)
                todo.append(edge.source)
    return seen


def _type(graph: Graph, name: str) -> str:
    node = graph.nodes.get(name)
    return node.type if isinstance(node, Node) else ""


def _respond(node: Node, graph: Graph) -> Found:
    mode = node.parameters.get("respondWith", "firstIncomingItem")
    out: Found = []
    if mode == "binary":
        out.append((".respondWith", "respondWith binary (a file) is not supported: Hive moves no binary data "
                                    "between nodes; respond with json, text or the items"))
    elif mode == "jwt":
        out.append((".respondWith", "respondWith jwt is not supported: signing a token needs the JWT credential's "
                                    "secret, which Hive does not hold"))
    elif _bad(mode, RESPOND_WITH):
        out.append((".respondWith", f"respondWith {mode!r} does not exist (one of {', '.join(RESPOND_WITH)})"))
    before = _ancestors(graph, node.name)
    if node.type_version >= 1.1 and not any(_type(graph, n) in _ANSWERABLE for n in before):
        out.append(("", "no Webhook node before it: n8n's Respond to Webhook (v1.1 and later) fails with "
                        "'No Webhook node found in the workflow'"))
    if any(_type(graph, n) == CHAT_TRIGGER and option(_params(graph, n), "options", "responseMode") == "responseNodes"
           and not _disabled(graph, n) for n in before):
        out.append(("", "after a chat trigger answering with 'responseNodes', n8n sends this as a chat message and "
                        "waits for the next one; Hive does not hold chat sessions"))
    return out


def _params(graph: Graph, name: str) -> dict[str, Any]:
    node = graph.nodes.get(name)
    return node.parameters if isinstance(node, Node) else {}


def _disabled(graph: Graph, name: str) -> bool:
    node = graph.nodes.get(name)
    return isinstance(node, Node) and node.disabled


def _webhook(node: Node, graph: Graph) -> Found:
    p = node.parameters
    options = p["options"] if isinstance(p.get("options"), dict) else {}
    out: Found = []
    if isinstance(p.get("httpMethod"), list) or p.get("multipleMethods") is True:
        out.append((".httpMethod", "several HTTP methods (one output each) are not supported: an execution is "
                                   "started with a body, not a method; use one method"))
    for name in ("binaryData", "rawBody"):
        if options.get(name) is True:
            out.append((f".options.{name}", f"options.{name} puts the request body in binary data, which Hive does "
                                            "not move between nodes"))
    if p.get("authentication") == "jwtAuth":
        out.append((".authentication", "jwtAuth is not supported: Hive verifies no JWT, so the item would have no "
                                       "jwtPayload (Hive's own tokens guard executions)"))
    if node.type_version >= 2:
        mode = p.get("responseMode", "onReceived")
        responds = any(_type(graph, n) == RESPOND for n in reachable(graph, node.name) - {node.name})
        if mode == "responseNode" and not responds:
            out.append((".responseMode", "responseMode responseNode but no Respond to Webhook node after it: n8n "
                                         "refuses the request ('No Respond to Webhook node found in the workflow')"))
        if responds and _literal(mode) and mode not in ("responseNode", "streaming"):
            out.append((".responseMode", "a Respond to Webhook node follows but responseMode is not responseNode: "
                                         "n8n refuses the request ('Webhook node not correctly configured')"))
    return out
