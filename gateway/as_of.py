"""`?as_of=`: a resource as it was at a stream sequence or a time, folded from the log, not from the read model.

A route for any aggregate adds it in one line: `if as_of: return await view_as_of(services.store, "execution",
execution_id, as_of, build)`, where `build` turns the history prefix into the route's view (None: not yet)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import msgspec
from litestar.params import Parameter

from core.audit.as_of import BadAsOf, history_as_of, parse_as_of
from core.domain import agent as agent_domain
from core.events.envelope import Recorded
from core.store.event_store import EventStore
from gateway.errors import NotFound, invalid
from gateway.schemas import AgentView

V = TypeVar("V")

AsOf = Annotated[str | None, Parameter(
    max_length=64, description="the resource as it was then, folded from the event log: a stream sequence "
    "(e.g. 1042) or an ISO 8601 time (e.g. 2025-01-31T12:00:00Z; UTC without an offset)")]


async def view_as_of(store: EventStore, aggregate: str, aggregate_id: str, as_of: str,
                     build: Callable[[list[Recorded[Any]]], V | None]) -> V:
    """400 naming `as_of` when it is malformed; 404 when the aggregate did not exist yet at that point."""
    try:
        point = parse_as_of(as_of)
    except BadAsOf as err:
        raise invalid("as_of", str(err)) from err
    history = history_as_of(await store.load(aggregate, aggregate_id), point)
    view = build(history) if history else None
    if view is None:
        raise NotFound(f"no {aggregate} with id {aggregate_id} as of {as_of}")
    return view


def agent_view_from_history(history: list[Recorded[Any]]) -> AgentView | None:
    """The agent as its events describe it, in the read model's shape (a field the fold lacks takes its default)."""
    agent = agent_domain.fold([rec.envelope for rec in history])
    if agent is None:
        return None
    fields: dict[str, Any] = {name: getattr(agent, name) for name in agent.__struct_fields__}
    fields.update(status=str(agent.status), hardware=msgspec.to_builtins(agent.hardware), seq=history[-1].seq)
    return msgspec.convert(fields, AgentView)
