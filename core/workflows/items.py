"""n8n items: `{json, binary}` plus the lineage that `$('Node').item` follows (n8n's paired items)."""

from __future__ import annotations

from typing import Any

import msgspec


class Item(msgspec.Struct, kw_only=True, omit_defaults=True):
    json: dict[str, Any] = {}
    # Passed through untouched: Hive moves no binary data between nodes.
    binary: dict[str, Any] | None = None
    # Node name -> [output index, item index] of every item this one derives from (transitively), so an
    # expression can find "the" item of an earlier node that this item came from.
    paired: dict[str, list[int]] = {}


Outputs = list[list[Item]]


def derive(source: Item | None, json: dict[str, Any], node: str, output: int, index: int,
           binary: dict[str, Any] | None = None) -> Item:
    """A new item of `node` at (output, index), derived from `source` (None: it derives from nothing)."""
    paired = dict(source.paired) if source is not None else {}
    paired[node] = [output, index]
    return Item(json=json, binary=binary if binary is not None else (source.binary if source else None), paired=paired)


def merge_lineage(sources: list[Item]) -> dict[str, list[int]]:
    paired: dict[str, list[int]] = {}
    for s in sources:
        for k, v in s.paired.items():
            paired.setdefault(k, v)
    return paired


def stamp(outputs: list[list[Item]], node: str) -> Outputs:
    """Record each output item's own position under `node` in its lineage."""
    out: Outputs = []
    for o, items in enumerate(outputs):
        stamped = []
        for i, item in enumerate(items):
            paired = dict(item.paired)
            paired[node] = [o, i]
            stamped.append(Item(json=item.json, binary=item.binary, paired=paired))
        out.append(stamped)
    return out


def from_plain(value: Any) -> list[Item]:
    """Items given as n8n writes them (`[{json: {...}}]`, as in pinData) or as bare objects (`[{...}]`)."""
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        return [Item(json={"data": value})]
    items = []
    for entry in value:
        if isinstance(entry, dict) and isinstance(entry.get("json"), dict):
            binary = entry.get("binary")
            items.append(Item(json=dict(entry["json"]), binary=binary if isinstance(binary, dict) else None))
        elif isinstance(entry, dict):
            items.append(Item(json=dict(entry)))
        else:
            items.append(Item(json={"data": entry}))
    return items


def plain(items: list[Item]) -> list[dict[str, Any]]:
    """Items as n8n shows them (`{json: ...}`), without the lineage."""
    return [{"json": i.json} if i.binary is None else {"json": i.json, "binary": i.binary} for i in items]
