"""Runs a built-in node (computed by the coordinator, not an agent): a pure function of its inputs."""

from __future__ import annotations

from core.workflows.catalog import IF, MERGE, NOOP, RESPOND, SET, SWITCH, WAIT, Kind, kind_of
from core.workflows.context import RunView
from core.workflows.errors import ExpressionError, NodeFailed
from core.workflows.items import Item, Outputs
from core.workflows.model import Node
from core.workflows.node_flow import run_if, run_noop
from core.workflows.node_merge import run_merge
from core.workflows.node_misc import respond, respond_failed, respond_output_count, respond_outputs
from core.workflows.node_set import run_set
from core.workflows.node_switch import run_switch, switch_output_count
from core.workflows.outcomes import ItemErrors, NodeOutcome, continues, passed_through, route_errors


def regular_outputs(node: Node) -> int:
    if node.type == IF:
        return 2
    if node.type == SWITCH:
        return switch_output_count(node)
    if node.type == RESPOND:
        return respond_output_count(node)
    return 1


def _first(inputs: list[list[Item]]) -> list[Item]:
    return inputs[0] if inputs else []


def run_builtin(node: Node, inputs: list[list[Item]], view: RunView) -> NodeOutcome:
    """The node's outcome on these inputs. A node that continues on failure does as n8n's: Set, If and Switch
    handle a failing item alone (see their modules), any other failure passes the first input's items on."""
    items = _first(inputs)
    mode = continues(node)
    errors = ItemErrors(node) if mode is not None else None
    try:
        # A disabled Respond to Webhook passes its items through and answers nothing, as n8n's does.
        response = respond(node, items, view) if node.type == RESPOND and not node.disabled else None
        outputs = respond_outputs(node, items, response) if response is not None else \
            _outputs(node, inputs, view, errors)
        if node.always_output_data and not any(outputs):
            outputs = [[Item(json={}, paired={node.name: [0, 0]})], *outputs[1:]] if outputs else [[Item(json={})]]
    except (NodeFailed, ExpressionError) as err:
        if mode is None:
            return NodeOutcome(error=str(err))
        if node.type == RESPOND:
            return NodeOutcome(outputs=respond_failed(node, items, str(err), mode == "error_output"))
        return passed_through(node, items, regular_outputs(node), mode)
    if mode == "error_output" and errors is not None:
        outputs = route_errors(node, outputs, errors, regular_outputs(node))
    return NodeOutcome(outputs=outputs, response=response)


def _outputs(node: Node, inputs: list[list[Item]], view: RunView, errors: ItemErrors | None) -> Outputs:
    items = _first(inputs)
    if node.disabled and kind_of(node) is not Kind.TRIGGER:
        return run_noop(node, items, view)  # n8n passes items through a disabled node
    if node.type == SET:
        return run_set(node, items, view, errors)
    if node.type == IF:
        return run_if(node, items, view, continue_on_fail=errors is not None)
    if node.type == SWITCH:
        return run_switch(node, items, view, errors)
    if node.type == MERGE:
        return run_merge(node, inputs, view)
    if node.type in (NOOP, WAIT, RESPOND):
        return run_noop(node, items, view)
    raise NodeFailed(f"node {node.name!r} ({node.type}) is not a built-in")
