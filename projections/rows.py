"""In-memory fold of a batch: events become per-row changes (full new rows or patches of existing ones)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import msgspec

from core.domain.task import TaskStatus
from core.events.agent import (
    AgentCircuitClosed,
    AgentCircuitOpened,
    AgentDeregistered,
    AgentDrainRequested,
    AgentLost,
    AgentRecovered,
    AgentRegistered,
)
from core.events.codec import DECODERS, upcast_data
from core.events.system import AlertRaised, AlertResolved
from core.events.task import (
    TaskAssigned,
    TaskCancelled,
    TaskCancelRequested,
    TaskCompleted,
    TaskCreated,
    TaskFailed,
    TaskPinned,
    TaskQueued,
    TaskReportRejected,
    TaskResult,
    TaskRetryRequested,
    TaskRetryScheduled,
    TaskStarted,
    TaskTimedOut,
)
from projections.workflow_rows import FLOW_HANDLERS, FlowChanges

log = logging.getLogger(__name__)
_json = msgspec.json.Encoder()
# Plain strings: an enum's .value is a property lookup, paid per event.
_PENDING, _QUEUED, _ASSIGNED = TaskStatus.PENDING.value, TaskStatus.QUEUED.value, TaskStatus.ASSIGNED.value
_RUNNING, _COMPLETED, _FAILED = TaskStatus.RUNNING.value, TaskStatus.COMPLETED.value, TaskStatus.FAILED.value
_CANCELLED, _TIMED_OUT = TaskStatus.CANCELLED.value, TaskStatus.TIMED_OUT.value


class TaskChange:
    """A task row touched by the batch. `spec` set: the row was created in this batch (insert it whole);
    otherwise a patch where None means "unchanged" and the *_set flags allow writing NULL. The pin and the
    cancel request (rare) are written by a statement of their own, for the rows in BatchChanges.marked."""

    __slots__ = (
        "id", "spec", "created_by", "created_at", "status", "attempt", "agent_id", "agent_set", "result",
        "error", "error_set", "updated_at", "queued_at", "assigned_at", "started_at", "finished_at", "last_seq",
        "pinned_agent_id", "cancel_requested_at", "retry", "failure_reason", "retry_at", "dead_lettered",
        "reset",
    )

    def __init__(self, id: str, seq: int, at: datetime) -> None:
        self.id = id
        self.spec: TaskCreated | None = None
        self.created_by = ""
        self.created_at: datetime | None = None
        self.status: str | None = None
        self.attempt: int | None = None
        self.agent_id: str | None = None
        self.agent_set = False
        self.result: str | None = None
        self.error: str | None = None
        self.error_set = False
        self.updated_at = at
        self.queued_at: datetime | None = None
        self.assigned_at: datetime | None = None
        self.started_at: datetime | None = None
        self.finished_at: datetime | None = None
        self.last_seq = seq
        self.pinned_agent_id: str | None = None
        self.cancel_requested_at: datetime | None = None
        # Retry state, written (all three, NULLs included) for rows in BatchChanges.retried; `reset` (a client's
        # retry) also clears the old end: finished_at and result are then written as they stand after the batch.
        self.retry = False
        self.failure_reason: str | None = None
        self.retry_at: datetime | None = None
        self.dead_lettered = False
        self.reset = False


class AgentChange:
    """An agent row touched by the batch: `registered` set means a whole row to upsert, else a status patch."""

    __slots__ = ("id", "registered", "status", "updated_at", "registered_at", "last_seq", "lost_at", "circuit",
                 "circuit_open_until", "circuit_failures")

    def __init__(self, id: str, seq: int, at: datetime) -> None:
        self.id = id
        self.registered: AgentRegistered | None = None
        self.status = "offline"
        self.updated_at = at
        self.registered_at = at
        self.last_seq = seq
        self.lost_at: datetime | None = None
        # The circuit breaker's columns, written when `circuit` is set.
        self.circuit = False
        self.circuit_open_until: datetime | None = None
        self.circuit_failures = 0


class AlertChange:
    """An alert instance touched by the batch: `raised` set means a whole row to insert, else a resolve patch."""

    __slots__ = ("id", "raised", "raised_at", "resolved", "resolved_at", "last_seq")

    def __init__(self, id: str, seq: int) -> None:
        self.id = id
        self.raised: AlertRaised | None = None
        self.raised_at: datetime | None = None
        self.resolved: AlertResolved | None = None
        self.resolved_at: datetime | None = None
        self.last_seq = seq


class BatchChanges:
    """One batch's row changes; `events` were folded in, up to stream sequence `last_seq`."""

    def __init__(self) -> None:
        self.tasks: dict[str, TaskChange] = {}
        self.agents: dict[str, AgentChange] = {}
        self.alerts: dict[str, AlertChange] = {}
        # Ids of task rows with a pin or a cancel request to write (kept apart: the usual batch has none).
        self.marked: dict[str, None] = {}
        # Ids of task rows whose retry state changed (failures, retries, dead letters: rare too).
        self.retried: dict[str, None] = {}
        # The audit index: one row per event, written whatever the event's type (see AUDIT_COLUMNS).
        self.audit: list[tuple[Any, ...]] = []
        # Workflows, executions and their nodes (projections/workflow_rows.py).
        self.flows = FlowChanges()
        self.skipped = 0
        self.events = 0
        self.last_seq = 0


class _Head(msgspec.Struct, frozen=True):
    """The envelope fields the read models and the audit index use; no Envelope is built."""

    event_id: str
    type: str
    aggregate: str
    aggregate_id: str
    occurred_at: datetime
    actor: str
    data: msgspec.Raw
    correlation_id: str | None = None
    causation_id: str | None = None


# The audit index's columns, in the order of the tuples in BatchChanges.audit.
AUDIT_COLUMNS = ["seq", "event_id", "type", "aggregate", "aggregate_id", "occurred_at", "actor", "correlation_id",
                 "causation_id"]


_head_decoder = msgspec.json.Decoder(_Head)


def _task_created(ch: BatchChanges, seq: int, env: _Head, e: Any) -> None:
    if env.aggregate_id in ch.tasks:
        log.warning("task %s: created again at seq %d; ignored", env.aggregate_id, seq)
        return
    row = TaskChange(env.aggregate_id, seq, env.occurred_at)
    row.spec, row.created_by, row.created_at = e, env.actor, env.occurred_at
    row.status, row.attempt = _PENDING, 0
    ch.tasks[env.aggregate_id] = row


def _task_row(ch: BatchChanges, seq: int, env: _Head) -> TaskChange:
    row = ch.tasks.get(env.aggregate_id)
    if row is None:
        row = ch.tasks[env.aggregate_id] = TaskChange(env.aggregate_id, seq, env.occurred_at)
    row.updated_at, row.last_seq = env.occurred_at, seq
    return row


def _task_queued(ch: BatchChanges, seq: int, env: _Head, e: Any) -> None:
    row = _task_row(ch, seq, env)
    row.status, row.attempt, row.queued_at = _QUEUED, e.attempt, env.occurred_at
    row.agent_id, row.agent_set = None, True


def _task_assigned(ch: BatchChanges, seq: int, env: _Head, e: Any) -> None:
    row = _task_row(ch, seq, env)
    row.status, row.attempt, row.assigned_at = _ASSIGNED, e.attempt, env.occurred_at
    row.agent_id, row.agent_set = e.agent_id, True


def _task_started(ch: BatchChanges, seq: int, env: _Head, e: Any) -> None:
    row = _task_row(ch, seq, env)
    row.status, row.started_at = _RUNNING, env.occurred_at


def _task_completed(ch: BatchChanges, seq: int, env: _Head, e: Any) -> None:
    row = _task_row(ch, seq, env)
    row.status, row.finished_at = _COMPLETED, env.occurred_at
    row.result = _json.encode(e.result).decode()
    row.error, row.error_set = None, True


def _task_failed(ch: BatchChanges, seq: int, env: _Head, e: Any) -> None:
    row = _task_row(ch, seq, env)
    row.status, row.finished_at = _FAILED, env.occurred_at
    row.error, row.error_set = e.error, True
    # What the executor said is kept beside the error, in the result's shape.
    row.result = _json.encode(TaskResult(output=e.output, exit_code=e.exit_code)).decode()


def _retry_state(ch: BatchChanges, row: TaskChange, reason: str | None, retry_at: datetime | None,
                 dead_lettered: bool) -> None:
    row.retry, row.failure_reason, row.retry_at, row.dead_lettered = True, reason, retry_at, dead_lettered
    ch.retried[row.id] = None


def _task_failed_for_good(ch: BatchChanges, seq: int, env: _Head, e: Any) -> None:
    _task_failed(ch, seq, env, e)
    _retry_state(ch, _task_row(ch, seq, env), e.reason, None, e.dead_lettered)


def _task_retry_scheduled(ch: BatchChanges, seq: int, env: _Head, e: Any) -> None:
    row = _task_row(ch, seq, env)
    row.status, row.attempt, row.queued_at = _QUEUED, e.next_attempt, env.occurred_at
    row.agent_id, row.agent_set = None, True
    row.error, row.error_set = e.error, True
    _retry_state(ch, row, e.reason, e.not_before, False)


def _task_timed_out(ch: BatchChanges, seq: int, env: _Head, e: Any) -> None:
    row = _task_row(ch, seq, env)
    row.status, row.finished_at = _TIMED_OUT, env.occurred_at
    row.error, row.error_set = e.error, True
    row.result = _json.encode(TaskResult(output=e.output, exit_code=e.exit_code)).decode()
    _retry_state(ch, row, "timed_out", None, e.dead_lettered)


def _task_retry_requested(ch: BatchChanges, seq: int, env: _Head, e: Any) -> None:
    row = _task_row(ch, seq, env)
    row.status, row.error, row.error_set = _PENDING, None, True
    row.agent_id, row.agent_set = None, True
    row.finished_at, row.result, row.reset = None, None, True
    _retry_state(ch, row, None, None, False)


def _task_cancel_requested(ch: BatchChanges, seq: int, env: _Head, e: Any) -> None:
    row = _task_row(ch, seq, env)
    row.cancel_requested_at = env.occurred_at
    ch.marked[row.id] = None


def _task_cancelled(ch: BatchChanges, seq: int, env: _Head, e: Any) -> None:
    row = _task_row(ch, seq, env)
    row.status, row.finished_at = _CANCELLED, env.occurred_at
    row.error, row.error_set = e.reason, True
    if e.agent_id is not None:  # it ran: what it printed before it was stopped
        row.result = _json.encode(TaskResult(output=e.output, exit_code=e.exit_code)).decode()


def _task_pinned(ch: BatchChanges, seq: int, env: _Head, e: Any) -> None:
    row = _task_row(ch, seq, env)
    row.pinned_agent_id = e.agent_id
    ch.marked[row.id] = None


def _task_touched(ch: BatchChanges, seq: int, env: _Head, e: Any) -> None:
    _task_row(ch, seq, env)


def _agent_registered(ch: BatchChanges, seq: int, env: _Head, e: Any) -> None:
    row = AgentChange(env.aggregate_id, seq, env.occurred_at)
    row.registered, row.status = e, "online"
    ch.agents[env.aggregate_id] = row


def _agent_drain_requested(ch: BatchChanges, seq: int, env: _Head, e: Any) -> None:
    row = ch.agents.get(env.aggregate_id)
    if row is None:
        row = ch.agents[env.aggregate_id] = AgentChange(env.aggregate_id, seq, env.occurred_at)
    elif row.status not in ("online", "") or (row.registered is not None and row.registered.session_id != e.session_id):
        return  # as the fold: only an online agent's session that it names (the gateway appends it so)
    row.status, row.updated_at, row.last_seq = "draining", env.occurred_at, seq


def _agent_deregistered(ch: BatchChanges, seq: int, env: _Head, e: Any) -> None:
    row = ch.agents.get(env.aggregate_id)
    if row is None:
        row = ch.agents[env.aggregate_id] = AgentChange(env.aggregate_id, seq, env.occurred_at)
    row.status, row.updated_at, row.last_seq = "offline", env.occurred_at, seq


def _agent_row(ch: BatchChanges, seq: int, env: _Head) -> AgentChange:
    row = ch.agents.get(env.aggregate_id)
    if row is None:
        # A patch of a row from an earlier batch: its status is carried by UPDATE_AGENT, so start from what a
        # patch may not know (the row's status) only where the event sets it.
        row = ch.agents[env.aggregate_id] = AgentChange(env.aggregate_id, seq, env.occurred_at)
        row.status = ""
    row.updated_at, row.last_seq = env.occurred_at, seq
    return row


def _session_matches(row: AgentChange, session_id: str) -> bool:
    return row.registered is None or row.registered.session_id == session_id


def _agent_lost(ch: BatchChanges, seq: int, env: _Head, e: Any) -> None:
    row = _agent_row(ch, seq, env)
    if _session_matches(row, e.session_id) and row.status in ("", "online", "draining"):
        row.status, row.lost_at = "lost", env.occurred_at


def _agent_recovered(ch: BatchChanges, seq: int, env: _Head, e: Any) -> None:
    row = _agent_row(ch, seq, env)
    if _session_matches(row, e.session_id) and row.status in ("", "lost"):
        row.status, row.lost_at = "online", None


def _agent_circuit_opened(ch: BatchChanges, seq: int, env: _Head, e: Any) -> None:
    row = _agent_row(ch, seq, env)
    row.circuit, row.circuit_failures = True, e.failures
    # As the fold: a later opening never shortens the cooldown (the SQL keeps the greater of old and new).
    if row.circuit_open_until is None or e.until > row.circuit_open_until:
        row.circuit_open_until = e.until


def _agent_circuit_closed(ch: BatchChanges, seq: int, env: _Head, e: Any) -> None:
    row = _agent_row(ch, seq, env)
    row.circuit, row.circuit_open_until, row.circuit_failures = True, None, 0


def _alert_raised(ch: BatchChanges, seq: int, env: _Head, e: Any) -> None:
    row = ch.alerts[e.alert_id] = AlertChange(e.alert_id, seq)
    row.raised, row.raised_at = e, env.occurred_at


def _alert_resolved(ch: BatchChanges, seq: int, env: _Head, e: Any) -> None:
    row = ch.alerts.get(e.alert_id)
    if row is None:
        row = ch.alerts[e.alert_id] = AlertChange(e.alert_id, seq)
    row.resolved, row.resolved_at, row.last_seq = e, env.occurred_at, seq


Handler = Callable[[BatchChanges, int, _Head, Any], None]
HANDLERS: dict[str, Handler] = {
    TaskCreated.TYPE: _task_created,
    TaskQueued.TYPE: _task_queued,
    TaskAssigned.TYPE: _task_assigned,
    TaskStarted.TYPE: _task_started,
    TaskCompleted.TYPE: _task_completed,
    TaskFailed.TYPE: _task_failed_for_good,
    TaskRetryScheduled.TYPE: _task_retry_scheduled,
    TaskTimedOut.TYPE: _task_timed_out,
    TaskRetryRequested.TYPE: _task_retry_requested,
    TaskReportRejected.TYPE: _task_touched,
    TaskCancelRequested.TYPE: _task_cancel_requested,
    TaskCancelled.TYPE: _task_cancelled,
    TaskPinned.TYPE: _task_pinned,
    AgentRegistered.TYPE: _agent_registered,
    AgentDeregistered.TYPE: _agent_deregistered,
    AgentDrainRequested.TYPE: _agent_drain_requested,
    AgentLost.TYPE: _agent_lost,
    AgentRecovered.TYPE: _agent_recovered,
    AgentCircuitOpened.TYPE: _agent_circuit_opened,
    AgentCircuitClosed.TYPE: _agent_circuit_closed,
    AlertRaised.TYPE: _alert_raised,
    AlertResolved.TYPE: _alert_resolved,
}
HANDLERS.update(FLOW_HANDLERS)

_warned: set[str] = set()


# Per type the read models know: its payload decoder (core's, so payloads are validated as everywhere) and handler.
_FOLDS = {tag: (DECODERS[tag], handler) for tag, handler in HANDLERS.items()}


def fold_batch(messages: list[tuple[int, bytes]]) -> BatchChanges:
    """Fold (seq, raw envelope) pairs, in stream order, into one change per row."""
    ch = BatchChanges()
    fold_into(ch, messages)
    return ch


def fold_into(ch: BatchChanges, messages: list[tuple[int, bytes]]) -> None:
    """Fold more messages, following the ones already in `ch`."""
    folds, audit = _FOLDS, ch.audit
    for seq, raw in messages:
        try:
            env = _head_decoder.decode(raw)
            audit.append((seq, env.event_id, env.type, env.aggregate, env.aggregate_id, env.occurred_at, env.actor,
                          env.correlation_id, env.causation_id))
            fold = folds.get(env.type)
            if fold is None:
                _fold_other(ch, seq, env)
                continue
            data = fold[0].decode(env.data)
        except msgspec.DecodeError as err:
            # A corrupt record can never become valid: record it loudly and move on.
            log.error("seq %d: undecodable event (%s); skipped", seq, err)
            ch.skipped += 1
            continue
        fold[1](ch, seq, env, data)
    if messages:
        ch.events += len(messages)
        ch.last_seq = messages[-1][0]


def _fold_other(ch: BatchChanges, seq: int, env: _Head) -> None:
    """An old version of an event (upcast to the current one, then folded as it), or one to skip."""
    upcasted = upcast_data(env.type, env.data)
    fold = _FOLDS.get(upcasted[0]) if upcasted is not None else None
    if upcasted is None or fold is None:
        _skip_unknown(ch, seq, env.type)
        return
    fold[1](ch, seq, env, upcasted[1])


def _skip_unknown(ch: BatchChanges, seq: int, tag: str) -> None:
    ch.skipped += 1
    if tag in DECODERS:
        _warn_once(tag, "seq %d: no read model for %s; skipped", seq, tag)
    else:
        # Written by a newer version: skip it rather than stop the read models.
        _warn_once(tag, "seq %d: unknown event type %r; skipped", seq, tag)


def _warn_once(key: str, msg: str, *args: object) -> None:
    # One warning per kind: a replay of a million unknown events must not flood the log.
    if key not in _warned:
        _warned.add(key)
        log.warning(msg, *args)
