"""Event schema evolution: upcasters turn a stored event of an old version into the current version's data.

Most changes need none: a field added with a default decodes from old events as is. A change that renames,
splits or re-types a field gets a new tag (`task.created.v2`) and an upcaster from the old one:

    @upcaster("task.created.v1", "task.created.v2")
    def _rename_title(data: dict[str, Any]) -> dict[str, Any]:
        data["name"] = data.pop("title")
        return data

The log is never rewritten: every reader (the coordinator's fold, the projections, the gateway's histories)
upcasts as it decodes, through core.events.codec, so all of them see only current versions. Upcasters chain
(v0 -> v1 -> v2), and each is a pure function of the payload's JSON object.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

# old tag -> (the next version's tag, the function giving that version's data)
UPCASTERS: dict[str, tuple[str, Upcaster]] = {}
MAX_CHAIN = 32


def upcaster(old: str, new: str) -> Callable[[Upcaster], Upcaster]:
    """Register `fn` as the upgrade of events tagged `old` to tag `new`."""
    def register(fn: Upcaster) -> Upcaster:
        if old in UPCASTERS:
            raise RuntimeError(f"an upcaster from {old} is already registered")
        UPCASTERS[old] = (new, fn)
        return fn
    return register


@contextmanager
def registered(old: str, new: str, fn: Upcaster) -> Iterator[None]:
    """An upcaster for the duration of a block (tests)."""
    upcaster(old, new)(fn)
    try:
        yield
    finally:
        del UPCASTERS[old]


def upcast(tag: str, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Follow the upcasters from `tag` as far as they go; (tag, data) unchanged when none applies."""
    for _ in range(MAX_CHAIN):
        step = UPCASTERS.get(tag)
        if step is None:
            return tag, data
        tag, data = step[0], step[1](data)
    raise RuntimeError(f"upcasters from {tag} form a loop")
