"""The execution driver: runs workflow executions inside the leading coordinator.

It folds execution events (and the task events of its nodes' tasks), and for each execution that moved asks
the pure engine what to do next: built-in nodes are computed inline and recorded as node events, task nodes
get one Hive task per item (TaskCreated on the task subjects, then node_started with their ids), waits are
resumed at their time or by a resume request, and the execution ends completed, failed or cancelled (a failed
or cancelled one asks its running tasks to cancel). Every decision is appended with the execution's last
sequence expected, and the state it is made from is the fold: after a restart or a failover the next leader
carries on. A decision that keeps failing (a bug, a poisoned input) fails its execution after
`max_failures` tries in a row instead of being retried forever.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec

from core.coordinator.decisions import Decisions
from core.coordinator.execution_limits import fit, started_task_ids
from core.coordinator.execution_task_writer import NodeTaskWriter
from core.coordinator.execution_tasks import (
    ended_results,
    is_node_task,
    node_task_id,
    task_created,
    upstream_tasks,
)
from core.coordinator.fleet import Fleet
from core.coordinator.writer import TRANSIENT, NotLeader, Plan, Writer
from core.domain import execution as execution_domain
from core.domain import task as task_domain
from core.domain.execution import Execution, ExecutionStatus
from core.domain.task import TaskStatus
from core.errors import DomainError
from core.events.envelope import EventData, Recorded
from core.events.execution import ExecutionFailed, ExecutionStarted, NodeStarted
from core.events.task import TaskFailed
from core.workflows.engine import Finish, RunState, StartTasks, apply_step, next_wake, plan
from core.workflows.errors import InvalidWorkflow
from core.workflows.graph import Graph
from core.workflows.model import Workflow, parse_workflow
from core.workflows.validate import validate

log = logging.getLogger(__name__)

# Steps one decision may chain (built-ins computed inline): bounds a decision's size and time.
MAX_ROUNDS = 200
IDLE_S = 60.0
RETRY_S = 0.05
# After a failed decision: the first retry's delay, doubling per failure in a row, capped.
FAILURE_BACKOFF_S = 0.2
FAILURE_BACKOFF_MAX_S = 5.0
MAX_FAILURES = 5


@dataclass
class _Entry:
    state: Execution
    last_seq: int
    workflow: Workflow | None = None
    graph: Graph | None = None


class ExecutionDriver:
    def __init__(self, fleet: Fleet, decisions: Decisions, writer: Writer,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC), *, max_failures: int = MAX_FAILURES,
                 public_url: str = "") -> None:
        self._fleet = fleet
        self._decisions = decisions
        self._writer = writer
        self._clock = clock
        self._max_failures = max(1, max_failures)
        self._public_url = public_url.rstrip("/")
        self._entries: dict[str, _Entry] = {}
        self._by_task: dict[str, str] = {}
        self._tasks = NodeTaskWriter(fleet, decisions, writer)
        # What a task printed when it last failed (an HTTP error response, for the node's error output).
        self._failed_output: dict[str, str] = {}
        self._failures: dict[str, int] = {}
        self._dirty: dict[str, None] = {}
        self._wakes: list[tuple[datetime, str]] = []
        self._wake = asyncio.Event()

    # -- folding (called for every event, in log order) -------------------------------------------------

    def observe(self, rec: Recorded[Any]) -> None:
        env = rec.envelope
        if env.aggregate == "task":
            # The hot path: every task event of the fleet passes here; a node's task id says so by itself.
            if not is_node_task(env.aggregate_id):
                return
            execution_id = self._by_task.get(env.aggregate_id)
            if execution_id is None:
                return
            if isinstance(env.data, TaskFailed):
                self._failed_output[env.aggregate_id] = env.data.output
            entry = self._fleet.tasks.get(env.aggregate_id)
            if entry is not None and task_domain.is_terminal(entry.task):
                self._mark(execution_id)
        elif env.aggregate == "execution":
            self._observe_execution(rec)

    def _observe_execution(self, rec: Recorded[Any]) -> None:
        env = rec.envelope
        entry = self._entries.get(env.aggregate_id)
        try:
            state = execution_domain.evolve(entry.state if entry else None, env)
        except DomainError as err:
            log.error("execution event %d skipped: %s", rec.seq, err)
            if entry is not None:
                entry.last_seq = rec.seq  # it is in the log all the same: the next append must expect it
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
        task_ids = self._task_ids(entry)
        for task_id in task_ids:
            self._by_task.pop(task_id, None)
            self._failed_output.pop(task_id, None)
        self._tasks.forget(entry.state.id, task_ids)
        for table in (self._entries, self._dirty, self._failures):
            table.pop(entry.state.id, None)

    def _task_ids(self, entry: _Entry, run: RunState | None = None) -> list[str]:
        """Every task of the execution: recorded, planned in `run`, or created by this process."""
        ids = [t for node in entry.state.nodes.values() for t in node.task_ids]
        ids += [t for node in (run.nodes.values() if run is not None else ()) for t in node.task_ids]
        ids += self._tasks.created.get(entry.state.id, ())
        return list(dict.fromkeys(ids))

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
                except Exception as err:  # noqa: BLE001 - one execution's failure must not stop the others
                    await self._failed(execution_id, err)
                else:
                    self._failures.pop(execution_id, None)

    async def _failed(self, execution_id: str, err: Exception) -> None:
        if isinstance(err, (*TRANSIENT, NotLeader)):
            # NATS away, or leadership lost: nothing wrong with the execution; do not count it against it.
            log.warning("execution %s: deciding failed (%s); it is looked at again", execution_id, err)
            self._retry_soon(execution_id, FAILURE_BACKOFF_MAX_S)
            return
        failures = self._failures[execution_id] = self._failures.get(execution_id, 0) + 1
        if failures < self._max_failures:
            log.exception("execution %s: deciding failed (%d in a row); it is looked at again", execution_id,
                          failures, exc_info=err)
            self._retry_soon(execution_id, min(FAILURE_BACKOFF_S * 2 ** (failures - 1), FAILURE_BACKOFF_MAX_S))
            return
        log.error("execution %s: deciding failed %d times in a row (%s); it fails", execution_id, failures, err,
                  exc_info=err)
        entry = self._entries.get(execution_id)
        if entry is None:
            return
        reason = f"the coordinator could not decide this execution's next step ({failures} tries in a row): " \
                 f"{type(err).__name__}: {err}"
        try:
            if await self._append(entry, [ExecutionFailed(error=reason[:2000])]):
                await self._cancel_tasks(entry, self._task_ids(entry))
        except Exception:  # noqa: BLE001 - logged; the next look tries again
            log.exception("execution %s: recording its failure failed; it is looked at again", execution_id)
            self._retry_soon(execution_id, FAILURE_BACKOFF_MAX_S)

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

    def resume_url(self, execution_id: str) -> str:
        return f"{self._public_url}/api/executions/{execution_id}/resume"

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
        run = execution_domain.run_state(state, trigger, self.resume_url(execution_id))
        run.nodes = {name: msgspec.structs.replace(node) for name, node in state.nodes.items()}
        run.results = ended_results(self._fleet.tasks, state.nodes.values(), self._failed_output)
        creates = self._advance(workflow, graph, run, now, events)
        events, _ = fit(events)
        named = started_task_ids(events)
        kept = [c for c in creates if c[0] in named]
        for task_id, _ in kept:
            self._by_task[task_id] = execution_id
        if not await self._tasks.create(kept, execution_id):
            self._retry_soon(execution_id)
            return
        if events and not await self._append(entry, events):
            return
        if run.cancel_requested or any(isinstance(e, ExecutionFailed) for e in events):
            # A failed execution leaves nothing running: its tasks, and any an earlier try of a decision whose
            # node_started was then cut (an oversized output) may have created (ids are the same every time).
            await self._cancel_tasks(entry, [*self._task_ids(entry, run), *(t for t, _ in creates)])
        wake = next_wake(run)
        if wake is not None and wake > now:
            heapq.heappush(self._wakes, (wake, execution_id))

    def _advance(self, workflow: Workflow, graph: Graph, run: RunState, now: datetime,
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

    async def _append(self, entry: _Entry, events: list[EventData]) -> bool:
        stored = await self._writer.decide(Plan(entry.state.id, events, expected_seq=entry.last_seq,
                                                correlation_id=entry.state.id))
        if not stored:
            self._retry_soon(entry.state.id)  # decide again from what the fold shows
        return stored

    async def _cancel_tasks(self, entry: _Entry, task_ids: Iterable[str]) -> None:
        if not await self._tasks.cancel(entry.state.id, task_ids):
            self._retry_soon(entry.state.id)
