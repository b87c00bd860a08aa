"""Cancels, drains and hand-backs: decisions where no agent has to act, orders to sidecars where one does.

A cancel of a task no online agent holds (pending, queued, or held by an agent that went offline) is a
TaskCancelled decision; a task an online agent holds gets a CancelTask order, and a draining agent a
DrainAgent order, on core NATS. Orders are not stored, so every RESEND_S they are sent again until the log
shows them carried out: a lost message never leaves a task running. An assignment whose agent deregistered
without starting it is handed back to the queue as a new attempt; what a lost agent held (assigned or
running) ends its attempt under the retry policy (core/domain/task.py `lose`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

import msgspec
from nats.aio.client import Client as NATS

from core.coordinator.decisions import Decisions
from core.coordinator.fleet import Fleet
from core.coordinator.writer import Plan
from core.domain import task as task_domain
from core.domain.agent import GONE, AgentStatus
from core.domain.retry import RetryPolicy
from core.domain.task import HOLDS_SLOT, TERMINAL, TaskStatus
from core.events.task import TaskEvent
from core.messages import CancelTask, Control, DrainAgent
from core.settings import Settings

log = logging.getLogger(__name__)

RESEND_S = 1.0
_encoder = msgspec.json.Encoder()

Order = tuple[str, Control]  # (agent id, order)
MakePlan = Callable[[str, list[TaskEvent], int], Plan]


class Controls:
    def __init__(self, fleet: Fleet, decisions: Decisions, nc: NATS, settings: Settings,
                 policy: RetryPolicy | None = None) -> None:
        self._policy = policy or RetryPolicy()
        self._fleet = fleet
        self._decisions = decisions
        self._nc = nc
        self._settings = settings
        self._cancels: dict[str, None] = {}
        # Agents to look at: draining ones get a drain order, offline ones hand back what they never started.
        self._agents: dict[str, None] = {}

    def cancel(self, task_id: str) -> None:
        self._cancels[task_id] = None

    def agent_changed(self, agent_id: str) -> None:
        self._agents[agent_id] = None

    def sweep(self) -> bool:
        """Everything not yet carried out, to do (again): True if there is any."""
        self._cancels.update(self._fleet.cancelling)
        for a in self._fleet.agents.values():
            status = a.agent.status
            if status is AgentStatus.DRAINING or (status in GONE and a.tasks):
                self._agents[a.agent.id] = None
        return bool(self._cancels or self._agents)

    def plan(self, plans: list[Plan], make_plan: MakePlan) -> list[Order]:
        """Add this wake-up's decisions to `plans`; returns the orders to send."""
        orders: list[Order] = []
        if self._cancels:
            cancels, self._cancels = self._cancels, {}
            for task_id in cancels:
                self._plan_cancel(task_id, plans, orders, make_plan)
        if self._agents:
            agents, self._agents = self._agents, {}
            for agent_id in agents:
                self._plan_agent(agent_id, plans, orders, make_plan)
        return orders

    def _plan_cancel(self, task_id: str, plans: list[Plan], orders: list[Order], make_plan: MakePlan) -> None:
        entry = self._fleet.tasks.get(task_id)
        if entry is None or entry.task.cancel_requested_at is None or entry.task.status in TERMINAL:
            return
        task = entry.task
        if self._decisions.is_open(task_id):
            self._cancels[task_id] = None  # once its events are folded (which wakes us), decide from there
            return
        holder = self._fleet.agents.get(task.agent_id) if task.agent_id and task.status in HOLDS_SLOT else None
        if holder is not None and holder.agent.status not in GONE:
            orders.append((holder.agent.id, CancelTask(task_id=task.id, attempt=task.attempt)))
        else:
            plans.append(make_plan(task_id, task_domain.cancel(task), entry.last_seq))

    def _plan_agent(self, agent_id: str, plans: list[Plan], orders: list[Order], make_plan: MakePlan) -> None:
        a = self._fleet.agents.get(agent_id)
        if a is None:
            return
        if a.agent.status is AgentStatus.DRAINING:
            orders.append((agent_id, DrainAgent(session_id=a.agent.session_id)))
            return
        if a.agent.status not in GONE:
            return
        lost = a.agent.status is AgentStatus.LOST
        now = datetime.now(UTC)
        for task_id in sorted(a.tasks):
            entry = self._fleet.tasks.get(task_id)
            # A deregistered agent ended every run it began with a report: only work it never started is left.
            # A lost one may have been cut off mid-run: all it held ends its attempt.
            if (entry is None or entry.task.status not in HOLDS_SLOT or entry.task.cancel_requested_at is not None
                    or (not lost and entry.task.status is not TaskStatus.ASSIGNED)):
                continue
            if self._decisions.is_open(task_id):
                self._agents[agent_id] = None
                continue
            events = (task_domain.lose(entry.task, self._policy, now) if lost
                      else task_domain.hand_back(entry.task))
            plans.append(make_plan(task_id, events, entry.last_seq))

    async def send(self, orders: list[Order]) -> None:
        for agent_id, order in orders:
            try:
                await self._nc.publish(self._settings.control_subject(agent_id), _encoder.encode(order))
            except Exception as err:  # noqa: BLE001 - sent again by the next sweep
                log.warning("order %s to %s not sent (%s); it is sent again within %.0fs", order, agent_id, err,
                            RESEND_S)

    async def run(self, wake: Callable[[], None]) -> None:
        """Every RESEND_S: sweep, and wake the scheduler to plan what is left."""
        while True:
            await asyncio.sleep(RESEND_S)
            if self.sweep():
                wake()
