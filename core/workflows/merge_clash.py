"""The Merge node's clash handling (options.clashHandling.values): which input wins a field, deep or shallow, suffixes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.workflows import lodash
from core.workflows.expr_values import UNDEFINED
from core.workflows.items import Item
from core.workflows.node_params import option

Combine = Callable[..., dict[str, Any]]


def clash_options(parameters: dict[str, Any]) -> dict[str, Any]:
    """`getNodeParameter('options.clashHandling.values', 0, {})`: what the export set, nothing filled in."""
    values = option(parameters, "options", "clashHandling", "values", default={})
    return values if isinstance(values, dict) else {}


def _keep_target_when_empty(target: Any, source: Any) -> Any:
    return target if source is UNDEFINED or source is None or source == "" else UNDEFINED


def combiner(clash: dict[str, Any]) -> Combine:
    """n8n's selectMergeMethod: lodash merge (deep, the default) or assign (shallow); `overrideEmpty` keeps the
    earlier value where the later one is empty (undefined, null or "")."""
    customizer = _keep_target_when_empty if clash.get("overrideEmpty") else None
    if clash.get("mergeMode") == "shallowMerge":
        return lambda *sources: lodash.assign(*sources, customizer=customizer)
    if clash.get("mergeMode") == "deepMerge" or customizer is None:
        return lambda *sources: lodash.merge(*sources, customizer=customizer)
    # overrideEmpty with no (or an unknown) mergeMode: n8n falls through to a plain deep merge.
    return lambda *sources: lodash.merge(*sources)


def suffixed(item: Item, suffix: str) -> Item:
    """addSuffixToEntriesKeys: every top-level key becomes `key_<suffix>`."""
    return Item(json={f"{k}_{suffix}": v for k, v in item.json.items()}, binary=item.binary, paired=item.paired)


def merged_binary(items: list[Item]) -> dict[str, Any] | None:
    binaries = [i.binary for i in items if i.binary]
    if not binaries:
        return None
    out: dict[str, Any] = {}
    for b in binaries:
        out.update(b)
    return out
