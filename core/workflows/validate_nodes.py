"""Upload-time checks of the parameters of Switch v1/v2 and HTTP Request (every typeVersion, its credentials too),
and of Merge, Set, If, Respond to Webhook and Webhook (validate_merge, validate_builtins): what Hive cannot run,
named with its node and JSON path. Values given as expressions are checked when they run, not here."""

from __future__ import annotations

from typing import Any

from core.workflows.catalog import HTTP, IF, MERGE, RESPOND, SET, SWITCH, WEBHOOK
from core.workflows.errors import Problem
from core.workflows.graph import Graph
from core.workflows.model import Node
from core.workflows.node_credentials import credential_problems
from core.workflows.node_http import METHODS
from core.workflows.node_params import option
from core.workflows.node_switch_legacy import OPERATIONS, V1_OUTPUTS, legacy_output_count
from core.workflows.validate_builtins import builtin_problems
from core.workflows.validate_merge import merge_problems


def _at(i: int, node: Node, found: list[tuple[str, str]]) -> list[Problem]:
    return [Problem(node=node.name, field=f"$.nodes[{i}].parameters{path}" if path else f"$.nodes[{i}]", message=m)
            for path, m in found]


def node_problems(i: int, node: Node, graph: Graph | None = None) -> list[Problem]:
    if node.type == MERGE:
        return _at(i, node, merge_problems(node))
    if graph is not None and node.type in (SET, IF, RESPOND, WEBHOOK):
        return _at(i, node, builtin_problems(node, graph))
    if node.type == SWITCH and node.type_version < 3:
        return [Problem(node=node.name, field=f"$.nodes[{i}].parameters{path}", message=m)
                for path, m in _legacy_switch(node)]
    if node.type == HTTP:
        return [Problem(node=node.name, field=f"$.nodes[{i}].parameters{path}", message=m) for path, m in _http(node)] \
            + [Problem(node=node.name, field=f"$.nodes[{i}]{path}", message=m) for path, m in credential_problems(node)]
    return []


def _literal(value: Any) -> bool:
    return not (isinstance(value, str) and value.startswith("="))


def _legacy_switch(node: Node) -> list[tuple[str, str]]:
    p = node.parameters
    mode = p.get("mode", "rules")
    if _literal(mode) and mode not in ("rules", "expression"):
        return [(".mode", f"unknown mode {mode!r} (rules or expression)")]
    count = legacy_output_count(node)
    out = []
    if mode == "expression":
        target = p.get("output", 0)
        if node.type_version < 2 and _literal(target) and not _in_range(target, V1_OUTPUTS):
            out.append((".output", f"output {target!r} is not between 0 and {V1_OUTPUTS - 1}"))
        return out
    data_type = p.get("dataType", "number")
    if data_type not in OPERATIONS:
        return [(".dataType", f"unknown dataType {data_type!r} (one of {', '.join(OPERATIONS)})")]
    rules = option(p, "rules", "rules", default=[])
    for k, rule in enumerate(rules if isinstance(rules, list) else []):
        if not isinstance(rule, dict):
            continue
        operation = rule.get("operation")
        if operation is not None and _literal(operation) and operation not in OPERATIONS[data_type]:
            out.append((f".rules.rules[{k}].operation", f"unknown {data_type} operation {operation!r} "
                                                         f"(one of {', '.join(OPERATIONS[data_type])})"))
        target = rule.get("output", 0)
        if node.type_version < 2 and _literal(target) and not _in_range(target, V1_OUTPUTS):
            out.append((f".rules.rules[{k}].output", f"output {target!r} is not between 0 and {V1_OUTPUTS - 1}"))
    fallback = p.get("fallbackOutput", -1)
    if _literal(fallback) and fallback != -1 and not _in_range(fallback, count):
        out.append((".fallbackOutput", f"fallback output {fallback!r} is not -1 (none) or an output "
                                       f"between 0 and {count - 1}"))
    return out


def _in_range(value: Any, count: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < count


def _http(node: Node) -> list[tuple[str, str]]:
    p = node.parameters
    options: dict[str, Any] = p["options"] if isinstance(p.get("options"), dict) else {}
    out = []
    method_key = "requestMethod" if node.type_version < 3 else "method"
    method = p.get(method_key, "GET")
    if _literal(method) and str(method).upper() not in METHODS:
        out.append((f".{method_key}", f"unknown request method {method!r} (one of {', '.join(METHODS)})"))
    if node.type_version < 3:
        if p.get("responseFormat") == "file":
            out.append((".responseFormat", "responseFormat file (a binary download) is not supported: Hive moves no "
                                           "binary data between nodes; use json or string"))
        if p.get("sendBinaryData") is True:
            out.append((".sendBinaryData", "sending binary data is not supported: Hive moves no binary data "
                                           "between nodes"))
    else:
        mode = option(options, "pagination", "pagination", "paginationMode", default="updateAParameterInEachRequest")
        if option(options, "pagination", "pagination") is not None and mode != "off":
            out.append((".options.pagination", "pagination is not supported: make one request per item (or loop "
                                                "in the workflow) instead"))
        if p.get("provideSslCertificates") is True:
            out.append((".provideSslCertificates", "client SSL certificates (httpSslAuth) are not supported: the "
                                                   "agent applies header, bearer, basic, query or custom credentials"))
        for k, entry in enumerate(option(p, "bodyParameters", "parameters", default=[]) or []):
            if isinstance(entry, dict) and entry.get("parameterType") == "formBinaryData":
                out.append((f".bodyParameters.parameters[{k}].parameterType",
                            "a binary form field is not supported: Hive moves no binary data between nodes"))
    if options.get("proxy"):
        out.append((".options.proxy", "a proxy is not supported: the agent reaches the host directly (its [http] "
                                      "allowed_hosts decide which)"))
    return out
