"""The execution driver: runs workflow executions inside the leading coordinator.

It folds execution events (and the task events of its nodes' tasks), and for each execution that moved asks
the pure engine what to do next: built-in nodes are computed inline and recorded as node events, task nodes
get one Hive task per item (TaskCreated on the task subjects, then node_started with their ids), waits are
resumed at their time, and the execution ends completed, failed or cancelled (a failed or cancelled one asks
its running tasks to cancel). Every decision is appended with the execution's last sequence expected, and
the state it is made from is the fold: after a restart or a failover the next leader carries on.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec

from core.coordinator.decisions import Decisions
from core.coordinator.execution_tasks import node_task_id, task_created, upstream_tasks
from core.coordinator.fleet import Fleet
from core.coordinator.writer import Plan, Writer
from core.domain import execution as execution_domain
from core.domain import task as task_domain
from core.domain.execution import Execution, ExecutionStatus
from core.domain.task import TaskStatus
from core.errors import DomainError
from core.events.envelope import EventData, Recorded
from core.events.execution import ExecutionFailed, ExecutionStarted, NodeFailed, NodeStarted
from core.events.task import TaskCancelRequested, TaskFailed
from core.workflows.engine import Finish, RunState, StartTasks, apply_step, next_wake, plan
from core.workflows.errors import InvalidWorkflow
from core.workflows.graph import Graph
from core.workflows.model import Workflow, parse_workflow
from core.workflows.node_tasks import ItemResult
from core.workflows.validate import validate

log = logging.getLogger(__name__)

# Steps one decision may chain (built-ins computed inline): bounds a decision's size and time.
MAX_ROUNDS = 200
IDLE_S = 60.0
# An event is one NATS message (1 MiB by default, headers included): a node whose output is bigger fails.
MAX_EVENT_BYTES = 900 * 1024
RETRY_S = 0.05
_encoder = msgspec.json.Encoder()


@dataclass
class _Entry:
    state: Execution
    last_seq: int
    workflow: Workflow | None = None
    graph: Graph | None = None


class ExecutionDriver:
    def __init__(self, fleet: Fleet, decisions: Decisions, writer: Writer,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._fleet = fleet
        self._decisions = decisions
        self._writer = writer
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._by_task: dict[str, str] = {}
        # What a task printed when it last failed (an HTTP error response, for the node's error output).
        self._failed_output: dict[str, str] = {}
        self._dirty: dict[str, None] = {}
        self._wakes: list[tuple[datetime, str]] = []
        self._wake = asyncio.Event()
        self._cancels_sent: set[str] = set()

    # -- folding (called for every event, in log order) -------------------------------------------------

    def observe(self, rec: Recorded[Any]) -> None:
        env = rec.envelope
        if env.aggregate == "execution":
            self._observe_execution(rec)
        elif env.aggregate == "task":
            execution_id = self._by_task.get(env.aggregate_id)
            if execution_id is None:
                return
            if isinstance(env.data, TaskFailed):
                self._failed_output[env.aggregate_id] = env.data.output
            entry = self._fleet.tasks.get(env.aggregate_id)
            if entry is not None and task_domain.is_terminal(entry.task):
                self._mark(execution_id)

    def _observe_execution(self, rec: Recorded[Any]) -> None:
        env = rec.envelope
        entry = self._entries.get(env.aggregate_id)
        try:
            state = execution_domain.evolve(entry.state if entry else None, env)
        except DomainError as err:
            log.error("execution event %d skipped: %s", rec.seq, err)
            return
        if entry is None:
            entry = self._entries[state.id] = _Entry(state=state, last_seq=rec.seq)
        entry.state, entry.last_seq = state, rec.seq
        if isinstance(env.data, NodeStarted):
            for task_id in env.data.task_ids:
                self._by_task[task_id] = state.id
        if execution_domain.is_terminal(state):
            self._forget(entry)
        else:
            self._mark(state.id)

    def _forget(self, entry: _Entry) -> None:
        for run in entry.state.nodes.values():
            for task_id in run.task_ids:
                self._by_task.pop(task_id, None)
                self._failed_output.pop(task_id, None)
                self._cancels_sent.discard(task_id)
        self._entries.pop(entry.state.id, None)
        self._dirty.pop(entry.state.id, None)

    def _mark(self, execution_id: str) -> None:
        self._dirty[execution_id] = None
        self._wake.set()

    # -- deciding ----------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Once caught up with the log and leading: every execution not ended is looked at, then each that moves."""
        self._dirty.update(dict.fromkeys(self._entries))
        while True:
            await asyncio.sleep(0)  # a round that decided nothing must still let the fold run
            await self._sleep()
            now = self._clock()
            while self._wakes and self._wakes[0][0] <= now:
                self._dirty[heapq.heappop(self._wakes)[1]] = None
            dirty, self._dirty = self._dirty, {}
            for execution_id in dirty:
                if self._decisions.is_open(execution_id):
                    continue  # its last decision is not folded back yet; that fold marks it again
                try:
                    await self._decide(execution_id, now)
                except Exception:  # noqa: BLE001 - one execution's failure must not stop the others
                    log.exception("execution %s: deciding failed; it is looked at again", execution_id)
                    self._retry_soon(execution_id, 1.0)

    async def _sleep(self) -> None:
        if self._dirty:
            return
        timeout = IDLE_S
        if self._wakes:
            timeout = max(0.0, min(timeout, (self._wakes[0][0] - self._clock()).total_seconds()))
        self._wake.clear()
        try:
            await asyncio.wait_for(self._wake.wait(), timeout)
        except TimeoutError:
            pass

    def _retry_soon(self, execution_id: str, delay_s: float = RETRY_S) -> None:
        # Later, not at once: the fold must first show what an earlier decision (or a rival) did.
        heapq.heappush(self._wakes, (datetime.fromtimestamp(self._clock().timestamp() + delay_s, UTC), execution_id))

    def _graph(self, entry: _Entry) -> tuple[Workflow, Graph] | str:
        if entry.workflow is None or entry.graph is None:
            try:
                entry.workflow = parse_workflow(entry.state.document)
                entry.graph = validate(entry.workflow)
            except InvalidWorkflow as err:
                return str(err)
        return entry.workflow, entry.graph

    def _results(self, state: Execution) -> dict[str, ItemResult]:
        out: dict[str, ItemResult] = {}
        for run in state.nodes.values():
            for task_id in run.task_ids:
                entry = self._fleet.tasks.get(task_id)
                if entry is None or not task_domain.is_terminal(entry.task):
                    continue
                task = entry.task
                ok = task.status is TaskStatus.COMPLETED
                output = task.result.output if ok and task.result is not None else self._failed_output.get(task_id, "")
                out[task_id] = ItemResult(task_id=task_id, ok=ok, output=output,
                                          error="" if ok else (task.error or str(task.status)))
        return out

    async def _decide(self, execution_id: str, now: datetime) -> None:
        entry = self._entries.get(execution_id)
        if entry is None or execution_domain.is_terminal(entry.state):
            return
        state = entry.state
        loaded = self._graph(entry)
        if isinstance(loaded, str):
            await self._append(entry, [ExecutionFailed(error=loaded)])
            return
        workflow, graph = loaded
        events: list[EventData] = []
        trigger = state.trigger
        if state.status is ExecutionStatus.REQUESTED:
            trigger = state.requested_trigger or graph.triggers[0]
            if trigger not in graph.triggers:
                await self._append(entry, [ExecutionFailed(error=f"{trigger!r} is not a trigger node")])
                return
            events.append(ExecutionStarted(trigger=trigger))
        assert trigger is not None
        run = execution_domain.run_state(state, trigger)
        run.nodes = {name: msgspec.structs.replace(node) for name, node in state.nodes.items()}
        run.results = self._results(state)
        creates = self._advance(entry, workflow, graph, run, now, events)
        if not await self._create_tasks(creates, execution_id):
            self._retry_soon(execution_id)
            return
        if events:
            await self._append(entry, events)
        await self._cancel_running_tasks(entry, run, events)
        wake = next_wake(run)
        if wake is not None and wake > now:
            heapq.heappush(self._wakes, (wake, execution_id))

    def _advance(self, entry: _Entry, workflow: Workflow, graph: Graph, run: RunState, now: datetime,
                 events: list[EventData]) -> list[tuple[str, Any]]:
        """Plan and fold steps until the execution waits on tasks or time, or ends; the events go to `events`."""
        creates: list[tuple[str, Any]] = []
        task_ids = {name: node.task_ids for name, node in run.nodes.items()}
        for _ in range(MAX_ROUNDS):
            steps = plan(workflow, graph, run, now)
            if not steps:
                break
            for step in steps:
                ids: list[str] | None = None
                if isinstance(step, StartTasks):
                    ids = [node_task_id(run.execution_id, step.node, r.item_index) for r in step.requests]
                    depends = upstream_tasks(graph, step.node, task_ids, self._status_of)
                    creates += [(task_id, task_created(r, execution_id=run.execution_id, workflow_id=run.workflow_id,
                                                       node=step.node, depends_on=depends))
                                 for task_id, r in zip(ids, step.requests, strict=True)]
                    task_ids[step.node] = ids
                events += execution_domain.step_events(step, ids)
                if isinstance(step, Finish):
                    return creates
                apply_step(run, step, ids)
        return creates

    def _status_of(self, task_id: str) -> TaskStatus | None:
        entry = self._fleet.tasks.get(task_id)
        return entry.task.status if entry is not None else None

    async def _create_tasks(self, creates: list[tuple[str, Any]], execution_id: str) -> bool:
        """Append the TaskCreated of each new task; True once every one exists (made now or before)."""
        plans = [Plan(task_id, [created], expected_seq=0, correlation_id=execution_id)
                 for task_id, created in creates
                 if task_id not in self._fleet.tasks and not self._decisions.is_open(task_id)]
        if len(plans) < len(creates) and any(self._decisions.is_open(t) for t, _ in creates):
            return False  # still being created by an earlier decision: decide once it is folded
        if plans:
            await self._writer.decide_many(plans)  # a False is a task that exists already: as good
        return True

    async def _append(self, entry: _Entry, events: list[EventData]) -> None:
        events, cut = _fit(events)
        stored = await self._writer.decide(Plan(entry.state.id, events, expected_seq=entry.last_seq,
                                                correlation_id=entry.state.id))
        if not stored or cut:
            self._retry_soon(entry.state.id)  # decide again from what the fold shows

    async def _cancel_running_tasks(self, entry: _Entry, run: RunState, events: list[EventData]) -> None:
        """A cancelled or failed execution's tasks that still run are asked to cancel (once each)."""
        ended = any(isinstance(e, ExecutionFailed) for e in events)
        if not (ended or run.cancel_requested):
            return
        plans = []
        for node in run.nodes.values():
            for task_id in node.task_ids:
                task_entry = self._fleet.tasks.get(task_id)
                if (task_entry is None or task_domain.is_terminal(task_entry.task) or task_id in self._cancels_sent
                        or task_entry.task.cancel_requested_at is not None or self._decisions.is_open(task_id)):
                    continue
                self._cancels_sent.add(task_id)
                plans.append(Plan(task_id, [TaskCancelRequested()], expected_seq=task_entry.last_seq,
                                  correlation_id=entry.state.id))
        if plans:
            for plan_, ok in zip(plans, await self._writer.decide_many(plans), strict=True):
                if not ok:
                    self._cancels_sent.discard(plan_.aggregate_id)
                    self._retry_soon(entry.state.id)


def _fit(events: list[EventData]) -> tuple[list[EventData], bool]:
    """The events up to the first too big to store; that one (a node's output) becomes the node's failure.
    True when events were left out (they are planned again from the fold)."""
    for i, event in enumerate(events):
        size = len(_encoder.encode(event))
        if size > MAX_EVENT_BYTES:
            node = getattr(event, "node", None)
            if node is None:
                raise ValueError(f"{type(event).__name__} of {size} bytes is too big to store")
            failed = NodeFailed(node=node, error=f"the node's output ({size} bytes) is over the {MAX_EVENT_BYTES} "
                                                 "bytes an event may hold")
            return [*events[:i], failed], True
    return events, False
