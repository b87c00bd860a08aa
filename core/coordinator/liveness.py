"""Lost agents: a session silent past the heartbeat window is declared lost; a lost one that beats again is back.

What a lost agent held is re-queued by Controls once the AgentLost event is folded (core/domain/task.py `lose`);
any report it sends later about those attempts fails the fence and is recorded as rejected.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from core.coordinator.decisions import Decisions
from core.coordinator.fleet import Fleet
from core.coordinator.writer import Plan
from core.domain import agent as agent_domain
from core.domain.agent import GONE, AgentEvent, AgentStatus


class Liveness:
    def __init__(self, fleet: Fleet, decisions: Decisions, window_s: float) -> None:
        self._fleet = fleet
        self._decisions = decisions
        self.window_s = window_s
        # agent id -> (session id, when its latest heartbeat was stored)
        self._seen: dict[str, tuple[str, datetime]] = {}
        # When this coordinator began watching: an agent with no heartbeat seen gets a full window from then.
        self._since: datetime | None = None
        self._due = False  # set when the watch loop or a heartbeat found a decision for `plan`

    def start(self, now: datetime) -> None:
        self._since = now

    def beat(self, agent_id: str, session_id: str, at: datetime) -> bool:
        """Record a heartbeat; True if it is from a lost session that should now be recovered."""
        self._seen[agent_id] = (session_id, at)
        entry = self._fleet.agents.get(agent_id)
        recovering = entry is not None and self._recovering(entry.agent, session_id, at)
        self._due = self._due or recovering
        return recovering

    @staticmethod
    def _recovering(agent: agent_domain.Agent, session_id: str, at: datetime) -> bool:
        return (agent.status is AgentStatus.LOST and agent.session_id == session_id
                and agent.lost_at is not None and at > agent.lost_at)

    def last_seen(self, agent: agent_domain.Agent) -> datetime | None:
        seen = self._seen.get(agent.id)
        if seen is not None and seen[0] == agent.session_id:
            return seen[1]
        if self._since is None:
            return None
        return max(agent.registered_at, self._since)

    def plan(self, plans: list[Plan], now: datetime) -> None:
        """Declare overdue agents lost, and lost ones heard from again recovered."""
        if self._since is None:
            return
        for entry in self._fleet.agents.values():
            if self._decisions.is_open(entry.agent.id):
                continue
            events = self._decide(entry.agent, now)
            if events:
                plans.append(Plan(entry.agent.id, list(events), entry.last_seq, correlation_id=entry.agent.id))

    def overdue(self, now: datetime) -> bool:
        """The watch loop's test: is there anything for `plan` to do?"""
        return self._since is not None and any(self._decide(e.agent, now) for e in self._fleet.agents.values())

    def take_due(self) -> bool:
        """Whether the scheduler should call `plan` on this wake-up (once per watch-loop or heartbeat finding):
        `plan` walks every agent, too much for every wake-up of a busy scheduler."""
        due, self._due = self._due, False
        return due

    def _decide(self, agent: agent_domain.Agent, now: datetime) -> list[AgentEvent]:
        if agent.status is AgentStatus.LOST:
            seen = self._seen.get(agent.id)
            if seen is not None and self._recovering(agent, seen[0], seen[1]):
                return list(agent_domain.recover(agent, agent.session_id))
            return []
        last = self.last_seen(agent)
        if agent.status in GONE or last is None:
            return []
        return list(agent_domain.declare_lost(agent, last, now, self.window_s))

    async def run(self, wake: Callable[[], None], clock: Callable[[], datetime]) -> None:
        """Look a few times per window; wake the scheduler (which calls `plan`) when an agent needs a decision."""
        interval = min(1.0, self.window_s / 4)
        while True:
            await asyncio.sleep(interval)
            if self.overdue(clock()):
                self._due = True
                wake()
