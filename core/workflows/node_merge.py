"""The Merge node: v1 and v2 (node_merge_legacy), v3-v3.2 here (append, combine by fields / position / all, choose
branch, any numberInputs); every item keeps the lineage of the items it was made from."""

from __future__ import annotations

from core.workflows.context import RunView
from core.workflows.errors import NodeFailed
from core.workflows.items import Item, Outputs, merge_lineage
from core.workflows.merge_clash import clash_options, combiner, merged_binary, suffixed
from core.workflows.model import Node
from core.workflows.node_merge_fields import combine_by_fields
from core.workflows.node_merge_legacy import cross, empty_item, run_v1, run_v2
from core.workflows.node_params import option, resolve_param

V3_MODES = ("append", "combine", "combineBySql", "chooseBranch")
V3_COMBINATIONS = ("combineByFields", "combineByPosition", "combineAll")


def _stamp(node: Node, items: list[Item]) -> Outputs:
    out = []
    for i, item in enumerate(items):
        paired = dict(item.paired)
        paired[node.name] = [0, i]
        out.append(Item(json=item.json, binary=item.binary, paired=paired))
    return [out]


def run_merge(node: Node, inputs: list[list[Item]], view: RunView) -> Outputs:
    if node.type_version < 2:
        return _stamp(node, run_v1(node, inputs, view))
    if node.type_version < 3:
        return _stamp(node, run_v2(node, inputs, view))
    return _stamp(node, _run_v3(node, inputs, view))


def _run_v3(node: Node, inputs: list[list[Item]], view: RunView) -> list[Item]:
    """n8n's MergeV3 router; 3.1 and 3.2 changed only the SQL mode, which Hive refuses at upload."""
    p = node.parameters
    mode = str(p.get("mode", "append"))
    if mode == "append":
        return [item for items in inputs for item in items]
    if mode == "chooseBranch":
        return _choose(node, inputs, view)
    if mode == "combineBySql":
        raise NodeFailed("the SQL Query mode (combineBySql) is not supported by Hive")
    if mode != "combine":
        raise NodeFailed(f"merge mode {mode!r} does not exist (append, combine, chooseBranch)")
    how = str(p.get("combineBy", "combineByFields"))
    if how == "combineByFields":
        return combine_by_fields(node, inputs, view)
    if how == "combineByPosition":
        return _by_position(node, inputs)
    if how == "combineAll":
        # Only the first two inputs take part, whatever numberInputs says.
        return cross(inputs[0] if inputs else [], inputs[1] if len(inputs) > 1 else [], clash_options(p))
    raise NodeFailed(f"combineBy {how!r} does not exist (combineByFields, combineByPosition, combineAll)")


def _choose(node: Node, inputs: list[list[Item]], view: RunView) -> list[Item]:
    p = node.parameters
    # requiredInputs [0, 1]: without data on both of the first two inputs n8n does not run the node.
    if len(inputs) < 2 or not inputs[0] or not inputs[1]:
        return []
    if p.get("chooseBranchMode", "waitForAll") != "waitForAll":
        return []
    output = p.get("output", "specifiedInput")
    if output == "empty":
        return [empty_item(inputs[0] + inputs[1])]
    if output != "specifiedInput":
        return []
    which = resolve_param(node, "useDataOfInput", view, inputs[0], 0, 1)
    if not isinstance(which, int | float) or isinstance(which, bool):
        raise NodeFailed(f"'Use Data of Input' must be a number, not {which!r}")
    if which > len(inputs):
        raise NodeFailed(f"Input {which} doesn't exist: the node has only {len(inputs)} inputs")
    return list(inputs[int(which) - 1]) if which >= 1 else []


def _preferred_index(resolve: object, count: int) -> int:
    if isinstance(resolve, str) and "preferInput" in resolve:
        try:
            index = int(resolve.replace("preferInput", "")) - 1
        except ValueError:
            index = -1
        if not 0 <= index < count:
            raise NodeFailed(f"resolveClash {resolve!r} names no input of this node")
        return index
    return count - 1


def _by_position(node: Node, inputs: list[list[Item]]) -> list[Item]:
    """combineByPosition: item i of every input merged, the preferred input's last. n8n takes the preferred
    input before adding suffixes, so with addSuffix the last input's fields also come out unsuffixed."""
    clash = clash_options(node.parameters)
    preferred = inputs[_preferred_index(clash.get("resolveClash"), len(inputs))]
    rows = inputs
    if clash.get("resolveClash") == "addSuffix":
        rows = [[suffixed(item, str(k + 1)) for item in items] for k, items in enumerate(inputs)]
    lengths = [len(items) for items in rows] + [len(preferred)]
    unpaired = option(node.parameters, "options", "includeUnpaired", default=False) is True
    count = max(lengths) if unpaired else min(lengths)
    combine = combiner(clash)
    out = []
    for i in range(count):
        present = [items[i] for items in rows if i < len(items)]
        if i < len(preferred):
            present.append(preferred[i])
        out.append(Item(json=combine(*(item.json for item in present)), binary=merged_binary(present),
                        paired=merge_lineage(present)))
    return out
