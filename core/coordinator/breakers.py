"""Circuit breakers per agent: after N failed runs in a row, no placements on the agent for a cooldown.

The streaks are counted by the fold (Fleet, from task events); this turns them into agent events. Once the
cooldown ends the agent takes work again; its streak is still at the threshold, so the next failure opens the
circuit again at once, and a completed run closes it.
"""

from __future__ import annotations

from datetime import datetime

from core.coordinator.decisions import Decisions
from core.coordinator.fleet import Fleet
from core.coordinator.writer import Plan
from core.domain import agent as agent_domain


class Breakers:
    def __init__(self, fleet: Fleet, decisions: Decisions, threshold: int, cooldown_s: float) -> None:
        self._fleet = fleet
        self._decisions = decisions
        # 0 turns the breakers off.
        self.threshold = threshold
        self.cooldown_s = cooldown_s
        self._check: dict[str, None] = {}

    def note(self, agent_id: str) -> None:
        """A run on the agent ended (its streak changed): look at its circuit on the next wake-up."""
        self._check[agent_id] = None

    def sweep(self) -> None:
        self._check.update(dict.fromkeys(self._fleet.agents))

    def plan(self, plans: list[Plan], now: datetime) -> None:
        if not self._check or self.threshold <= 0:
            return
        check, self._check = self._check, {}
        for agent_id in check:
            entry = self._fleet.agents.get(agent_id)
            if entry is None:
                continue
            if self._decisions.is_open(agent_id):
                self._check[agent_id] = None  # decide once the open decision is folded
                continue
            agent = entry.agent
            # Only a streak that grew since the circuit last opened opens it (again): a replay or a takeover
            # finds old streaks still over the threshold after their cooldown ended.
            if entry.failure_streak >= self.threshold and (
                    agent.circuit_open_until is None or entry.failure_streak > agent.circuit_failures):
                events = agent_domain.open_circuit(entry.agent, entry.failure_streak, now, self.cooldown_s)
            elif entry.failure_streak == 0:
                events = agent_domain.close_circuit(entry.agent)
            else:
                continue
            if events:
                plans.append(Plan(agent_id, list(events), entry.last_seq, correlation_id=agent_id))
