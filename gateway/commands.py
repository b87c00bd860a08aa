"""Commands on a task or agent that exists: cancel, pin (assign), drain.

Each loads the aggregate's history from the event log (the truth, and its last sequence), decides with the
pure domain, and appends with that sequence expected; when another writer got there first it loads and
decides again. The coordinator carries the intent out; the answer is the aggregate as of the new event.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import msgspec

from core.domain import agent as agent_domain
from core.domain import task as task_domain
from core.domain.placement import Requirement, unfit
from core.errors import ConcurrencyError, DomainError
from core.events.envelope import EventData, Recorded, new_envelope
from core.ids import uuid7
from gateway import readmodel
from gateway.auth import Principal
from gateway.errors import Conflict, NotFound, Unavailable
from gateway.schemas import AgentView, TaskView
from gateway.services import Services
from gateway.task_views import view_from_history

# Races with the coordinator (a task moving on) are short: a few fresh decisions settle them.
RETRIES = 5
_AGENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
S = TypeVar("S")
Decide = Callable[[list[Recorded[Any]]], Sequence[EventData]]


async def run_command(services: Services, aggregate: str, aggregate_id: str, decide: Decide, principal: Principal,
                      request_id: str | None) -> list[Recorded[Any]]:
    """The aggregate's history with what `decide` made of it appended (nothing when it decided nothing)."""
    for _ in range(RETRIES):
        history = await services.store.load(aggregate, aggregate_id)
        events = decide(history)
        if not events:
            return history
        now = datetime.now(UTC)
        envelopes = [new_envelope(e, event_id=uuid7(), aggregate_id=aggregate_id, occurred_at=now,
                                  actor=principal.subject, correlation_id=request_id) for e in events]
        try:
            seq = await services.store.append(envelopes, expected_seq=history[-1].seq)
        except ConcurrencyError:
            continue
        assert len(envelopes) == 1  # a command here is one event: its seq is the append's
        return [*history, Recorded(seq=seq, envelope=envelopes[0])]
    raise Unavailable(f"{aggregate} {aggregate_id} kept changing while this request was decided; retry it")


def _task_of(history: list[Recorded[Any]], task_id: str) -> task_domain.Task:
    task = task_domain.fold([r.envelope for r in history])
    if task is None:
        raise NotFound(f"no task with id {task_id}")
    return task


def _or_conflict(decision: Callable[..., S], *args: Any) -> S:
    try:
        return decision(*args)
    except DomainError as err:
        raise Conflict(str(err)) from err


def _view(history: list[Recorded[Any]]) -> TaskView:
    view = view_from_history(history)
    assert view is not None  # the history starts with task.created.v1
    return view


async def cancel_task(services: Services, principal: Principal, task_id: str, request_id: str | None) -> TaskView:
    """Record the cancel request (once); 409 when the task already ended."""

    def decide(history: list[Recorded[Any]]) -> Sequence[EventData]:
        return _or_conflict(task_domain.request_cancel, _task_of(history, task_id))

    return _view(await run_command(services, "task", task_id, decide, principal, request_id))


async def retry_task(services: Services, principal: Principal, task_id: str, request_id: str | None) -> TaskView:
    """Re-submit a failed or timed-out task (a dead letter) as a new attempt with a fresh retry budget; 409
    for a task in any other state."""

    def decide(history: list[Recorded[Any]]) -> Sequence[EventData]:
        return _or_conflict(task_domain.request_retry, _task_of(history, task_id))

    return _view(await run_command(services, "task", task_id, decide, principal, request_id))


async def pin_task(services: Services, principal: Principal, task_id: str, agent_id: str,
                   request_id: str | None) -> TaskView:
    """Pin the task to `agent_id`; 409 when the task is placed or ended, or the agent cannot take it (as the
    agents read model shows it now: the coordinator decides for good, keeping the task queued for that agent)."""
    agent = await readmodel.get_agent(services.pool, agent_id)

    def decide(history: list[Recorded[Any]]) -> Sequence[EventData]:
        task = _task_of(history, task_id)
        events = _or_conflict(task_domain.pin, task, agent_id)
        if events:
            _check_agent(agent, agent_id, task)
        return events

    return _view(await run_command(services, "task", task_id, decide, principal, request_id))


def _check_agent(agent: AgentView | None, agent_id: str, task: task_domain.Task) -> None:
    if agent is None:
        raise Conflict(f"no agent with id {agent_id!r} is registered: pin the task to one that GET /api/agents lists")
    if agent.status != "online":
        raise Conflict(f"agent {agent_id} is {agent.status}: it takes no new work")
    need = Requirement(capabilities=tuple(task.spec.capabilities), model=task.spec.model)
    reason = unfit(agent.capabilities, agent.models, need)
    if reason is not None:
        raise Conflict(f"agent {agent_id} cannot run task {task.id}: it {reason}")


async def drain_agent(services: Services, principal: Principal, agent_id: str, request_id: str | None) -> AgentView:
    """Record the drain request for the agent's current session (once); 409 when it is offline."""
    if not _AGENT_ID.match(agent_id):
        raise NotFound(f"no agent with id {agent_id!r} (agent ids are 1-128 letters, digits, '-' or '_')")

    def decide(history: list[Recorded[Any]]) -> Sequence[EventData]:
        if not history:
            raise NotFound(f"no agent with id {agent_id!r}")
        return _or_conflict(agent_domain.request_drain, agent_domain.fold([r.envelope for r in history]), agent_id)

    history = await run_command(services, "agent", agent_id, decide, principal, request_id)
    agent = agent_domain.fold([r.envelope for r in history])
    assert agent is not None
    return AgentView(
        id=agent.id, name=agent.name, session_id=agent.session_id, status=str(agent.status),
        capabilities=dict(agent.capabilities), models=list(agent.models), max_concurrency=agent.max_concurrency,
        executor=agent.executor, hardware=msgspec.to_builtins(agent.hardware), registered_at=agent.registered_at,
        updated_at=agent.updated_at, seq=history[-1].seq, lost_at=agent.lost_at,
        circuit=circuit_state(agent.circuit_open_until, datetime.now(UTC)),
        circuit_open_until=agent.circuit_open_until, circuit_failures=agent.circuit_failures,
    )


def circuit_state(open_until: datetime | None, now: datetime) -> str:
    """As the agents read model computes it: closed, open (cooling down) or half_open (cooled down, on trial)."""
    if open_until is None:
        return "closed"
    return "open" if open_until > now else "half_open"
