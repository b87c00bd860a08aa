"""Validation of a workflow document: every problem at once, each naming its node and field."""

from __future__ import annotations

import re
from typing import Any

from core.workflows.catalog import (
    AGENT_TASK,
    CHAIN_LLM,
    MODELS,
    WAIT,
    Kind,
    kind_of,
    required_parameters,
    supported_names,
)
from core.workflows.errors import InvalidWorkflow, Problem
from core.workflows.expressions import check_syntax
from core.workflows.graph import Graph, build_graph, find_cycle
from core.workflows.model import Workflow
from core.workflows.validate_nodes import node_problems

MAX_NODES = 500
# As a task's capabilities are checked at the API: one that can never match an agent would wait forever.
_CAPABILITY = re.compile(r"^[a-z0-9_.-]{1,64}$")
_WAIT_RESUMES = ("timeInterval", "specificTime", "webhook", "form")


def validate(workflow: Workflow) -> Graph:
    """The workflow's graph; InvalidWorkflow listing every problem when it cannot run."""
    problems: list[Problem] = []
    if len(workflow.nodes) > MAX_NODES:
        raise InvalidWorkflow([Problem(message=f"more than {MAX_NODES} nodes", field="$.nodes")])
    seen: set[str] = set()
    for i, node in enumerate(workflow.nodes):
        if node.name in seen:
            problems.append(Problem(node=node.name, field=f"$.nodes[{i}].name", message="duplicate node name"))
        seen.add(node.name)
    problems += _unsupported(workflow)
    problems += _dangling(workflow)
    graph = build_graph(workflow)
    cycle = find_cycle(graph)
    if cycle is not None:
        problems.append(Problem(node=cycle[0], field="$.connections",
                                message="connections form a cycle: " + " -> ".join([*cycle, cycle[0]])))
    for i, node in enumerate(workflow.nodes):
        if kind_of(node) in (None, Kind.IGNORED):
            continue
        problems += _parameters(i, node, graph)
    if not graph.triggers:
        problems.append(Problem(field="$.nodes", message="no trigger node: add a manualTrigger, webhook or "
                                                         "chatTrigger to start executions from"))
    if problems:
        raise InvalidWorkflow(problems)
    return graph


def _unsupported(workflow: Workflow) -> list[Problem]:
    out = []
    for i, node in enumerate(workflow.nodes):
        if kind_of(node) is None:
            out.append(Problem(node=node.name, field=f"$.nodes[{i}].type",
                               message=f"unsupported node type {node.type} (Hive runs: {supported_names()})"))
    return out


def _dangling(workflow: Workflow) -> list[Problem]:
    names = {n.name for n in workflow.nodes}
    out = []
    for source, by_type in workflow.connections.items():
        if source not in names:
            out.append(Problem(node=source, field=f"$.connections[{source!r}]",
                               message="connections leave from a node that does not exist"))
            continue
        for ctype, outputs in by_type.items():
            for o, targets in enumerate(outputs):
                for k, c in enumerate(targets or []):
                    if c.node not in names:
                        out.append(Problem(node=source, field=f"$.connections[{source!r}].{ctype}[{o}][{k}].node",
                                           message=f"connects to node {c.node!r}, which does not exist"))
    return out


def _missing(parameters: dict[str, Any], path: str) -> bool:
    value: Any = parameters
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return True
        value = value[part]
    return value is None or value == "" or value == "="


def _parameters(i: int, node: Any, graph: Graph) -> list[Problem]:
    at = f"$.nodes[{i}].parameters"
    out = [Problem(node=node.name, field=f"{at}.{p}", message=f"required parameter {p} is missing")
           for p in required_parameters(node) if _missing(node.parameters, p)]
    out += [Problem(node=node.name, field=path, message=message)
            for path, message in check_syntax(node.parameters, at)]
    if node.type == CHAIN_LLM:
        models = graph.models.get(node.name, [])
        if len(models) != 1:
            out.append(Problem(node=node.name, field="$.connections", message=(
                "needs exactly one Ollama model node (lmChatOllama or lmOllama) connected over ai_languageModel, "
                f"has {len(models)}")))
    if node.type in MODELS and not any(s == node.name for s, _, _ in graph.sub_links):
        out.append(Problem(node=node.name, field="$.connections", message="model node feeds no chainLlm node"))
    capability = node.parameters.get("capability")
    if node.type == AGENT_TASK and isinstance(capability, str) and not capability.startswith("=") \
            and capability and not _CAPABILITY.match(capability):
        out.append(Problem(node=node.name, field=f"{at}.capability",
                           message="a capability is 1-64 lowercase letters, digits, '_', '.' or '-'"))
    out += node_problems(i, node, graph)
    if node.type == WAIT and node.parameters.get("resume", "timeInterval") not in _WAIT_RESUMES:
        out.append(Problem(node=node.name, field=f"{at}.resume",
                           message="wait resumes after a time interval, at a specific time, on a webhook call "
                                   "or on a form submission"))
    if node.on_error not in (None, "stopWorkflow", "continueRegularOutput", "continueErrorOutput"):
        out.append(Problem(node=node.name, field=f"$.nodes[{i}].onError", message=f"unknown onError {node.on_error!r}"))
    return out
