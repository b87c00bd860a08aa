"""The workflow's main-connection graph: who feeds whom, on which output and input; triggers; model links."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.workflows.catalog import MERGE, MODELS, Kind, kind_of
from core.workflows.model import Workflow


@dataclass(frozen=True)
class Edge:
    source: str
    output: int
    target: str
    input: int


@dataclass
class Graph:
    nodes: dict[str, object] = field(default_factory=dict)
    # source -> its main outputs, each a list of edges
    outgoing: dict[str, list[list[Edge]]] = field(default_factory=dict)
    # target -> the main edges into it
    incoming: dict[str, list[Edge]] = field(default_factory=dict)
    # node -> how many main inputs it has (a merge may have more than it has connections)
    input_count: dict[str, int] = field(default_factory=dict)
    # consumer (e.g. chainLlm) -> the model sub-nodes feeding it over ai_languageModel
    models: dict[str, list[str]] = field(default_factory=dict)
    # every non-main connection: (source, type, target)
    sub_links: list[tuple[str, str, str]] = field(default_factory=list)
    triggers: list[str] = field(default_factory=list)


def build_graph(workflow: Workflow) -> Graph:
    """The graph of the connections whose both ends exist (validation reports the others)."""
    g = Graph()
    names = {n.name for n in workflow.nodes}
    for node in workflow.nodes:
        g.nodes[node.name] = node
        g.outgoing[node.name] = []
        g.incoming[node.name] = []
        g.input_count[node.name] = _declared_inputs(node.type, node.parameters, node.type_version)
        if kind_of(node) is Kind.TRIGGER:
            g.triggers.append(node.name)
    for source, by_type in workflow.connections.items():
        if source not in names:
            continue
        for ctype, outputs in by_type.items():
            for o, targets in enumerate(outputs):
                for c in targets or []:
                    if c.node not in names:
                        continue
                    if ctype == "main":
                        edge = Edge(source, o, c.node, c.index)
                        out = g.outgoing[source]
                        while len(out) <= o:
                            out.append([])
                        out[o].append(edge)
                        g.incoming[c.node].append(edge)
                        g.input_count[c.node] = max(g.input_count[c.node], c.index + 1)
                    else:
                        g.sub_links.append((source, ctype, c.node))
                        src = workflow.node(source)
                        if ctype == "ai_languageModel" and src.type in MODELS:
                            g.models.setdefault(c.node, []).append(source)
    return g


def _declared_inputs(node_type: str, parameters: dict[str, object], version: float) -> int:
    if node_type == MERGE:
        n = parameters.get("numberInputs", 2)
        return n if isinstance(n, int) and not isinstance(n, bool) and 2 <= n <= 10 else 2
    return 1


def find_cycle(g: Graph) -> list[str] | None:
    """Nodes of one cycle over main connections, in order, or None."""
    white, grey, black = 0, 1, 2
    color = dict.fromkeys(g.nodes, white)
    stack_path: list[str] = []
    for root in g.nodes:
        if color[root] != white:
            continue
        # Iterative DFS: a deep chain of nodes must not exhaust Python's recursion limit.
        work: list[tuple[str, int]] = [(root, 0)]
        color[root] = grey
        stack_path.append(root)
        while work:
            node, i = work[-1]
            targets = [e.target for out in g.outgoing[node] for e in out]
            if i < len(targets):
                work[-1] = (node, i + 1)
                t = targets[i]
                if color[t] == grey:
                    return stack_path[stack_path.index(t):]
                if color[t] == white:
                    color[t] = grey
                    stack_path.append(t)
                    work.append((t, 0))
            else:
                color[node] = black
                stack_path.pop()
                work.pop()
    return None


def reachable(g: Graph, start: str) -> set[str]:
    seen = {start}
    todo = [start]
    while todo:
        node = todo.pop()
        for out in g.outgoing[node]:
            for e in out:
                if e.target not in seen:
                    seen.add(e.target)
                    todo.append(e.target)
    return seen
