"""Runs a built-in node (computed by the coordinator, not an agent): a pure function of its inputs."""

from __future__ import annotations

from core.workflows.catalog import IF, MERGE, NOOP, RESPOND, SET, SWITCH, WAIT, Kind, kind_of
from core.workflows.context import RunView
from core.workflows.errors import ExpressionError, NodeFailed
from core.workflows.items import Item, Outputs
from core.workflows.model import Node
from core.workflows.node_flow import run_if, run_noop, run_switch, switch_output_count
from core.workflows.node_merge import run_merge
from core.workflows.node_misc import respond
from core.workflows.node_set import run_set
from core.workflows.outcomes import NodeOutcome, failed_items_outcome


def regular_outputs(node: Node) -> int:
    if node.type == IF:
        return 2
    if node.type == SWITCH:
        return switch_output_count(node)
    return 1


def _first(inputs: list[list[Item]]) -> list[Item]:
    return inputs[0] if inputs else []


def run_builtin(node: Node, inputs: list[list[Item]], view: RunView) -> NodeOutcome:
    """The node's outcome on these inputs; an error fails it unless the node continues on failure."""
    items = _first(inputs)
    try:
        outputs = _outputs(node, inputs, view)
        if node.always_output_data and not any(outputs):
            outputs = [[Item(json={}, paired={node.name: [0, 0]})], *outputs[1:]] if outputs else [[Item(json={})]]
        response = respond(node, items, view) if node.type == RESPOND else None
    except (NodeFailed, ExpressionError) as err:
        return failed_items_outcome(node, [i for row in inputs for i in row], str(err), regular_outputs(node))
    return NodeOutcome(outputs=outputs, response=response)


def _outputs(node: Node, inputs: list[list[Item]], view: RunView) -> Outputs:
    items = _first(inputs)
    if node.disabled and kind_of(node) is not Kind.TRIGGER:
        return run_noop(node, items, view)  # n8n passes items through a disabled node
    if node.type == SET:
        return run_set(node, items, view)
    if node.type == IF:
        return run_if(node, items, view)
    if node.type == SWITCH:
        return run_switch(node, items, view)
    if node.type == MERGE:
        return run_merge(node, inputs, view)
    if node.type in (NOOP, WAIT, RESPOND):
        return run_noop(node, items, view)
    raise NodeFailed(f"node {node.name!r} ({node.type}) is not a built-in")
