"""What the alert rules measure, kept by the coordinator from its fold, heartbeats and projection checkpoints.

Response times and failures come from the log itself (assigned -> completed/failed, by the events' own
times), so a restarted coordinator, replaying the log, measures the same windows as the one it replaces.
Memory is bounded: the last RESPONSES_KEPT results per agent, failures in BUCKET_S buckets over the
longest window any rule uses, and assignment times only of tasks still running.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from core.coordinator.fleet import AgentEntry
from core.domain.agent import AgentStatus
from core.domain.alert_rules import AlertRule
from core.events.task import TaskAssigned, TaskCancelled, TaskCompleted, TaskFailed

RESPONSES_KEPT = 100
BUCKET_S = 5
CLUSTER = "cluster"


class _Agent:
    __slots__ = ("cpu_percent", "beat_at", "responses")

    def __init__(self) -> None:
        self.cpu_percent: float | None = None
        self.beat_at: datetime | None = None
        self.responses: deque[tuple[datetime, float]] = deque(maxlen=RESPONSES_KEPT)


class Observations:
    def __init__(self, keep_s: float = 3600.0) -> None:
        self._agents: dict[str, _Agent] = {}
        self._assigned: dict[str, datetime] = {}
        # (bucket start in epoch seconds // BUCKET_S, executions, failures), oldest first
        self._buckets: deque[list[int]] = deque(maxlen=max(1, int(keep_s // BUCKET_S) + 1))
        self.checkpoints: dict[str, int] = {}

    def _agent(self, agent_id: str) -> _Agent:
        agent = self._agents.get(agent_id)
        if agent is None:
            agent = self._agents[agent_id] = _Agent()
        return agent

    # -- fed by the fold, heartbeats and the checkpoint bucket -------------------------------------

    def task_event(self, task_id: str, event: Any, at: datetime) -> None:
        if isinstance(event, TaskAssigned):
            self._assigned[task_id] = at
        elif isinstance(event, TaskCompleted | TaskFailed) and event.agent_id is not None:
            assigned = self._assigned.pop(task_id, None)
            if assigned is not None:
                self._agent(event.agent_id).responses.append((at, (at - assigned).total_seconds()))
            self._count(at, failed=isinstance(event, TaskFailed))
        elif isinstance(event, TaskCancelled):  # no verdict on the agent, and nothing left to measure
            self._assigned.pop(task_id, None)

    def _count(self, at: datetime, failed: bool) -> None:
        bucket = int(at.timestamp()) // BUCKET_S
        if not self._buckets or self._buckets[-1][0] < bucket:
            self._buckets.append([bucket, 0, 0])
        last = self._buckets[-1]  # an event a little out of time order counts in the newest bucket
        last[1] += 1
        last[2] += failed

    def heartbeat(self, agent_id: str, cpu_percent: float, at: datetime) -> None:
        agent = self._agent(agent_id)
        agent.cpu_percent = cpu_percent
        if agent.beat_at is None or at > agent.beat_at:
            agent.beat_at = at

    # -- measures -----------------------------------------------------------------------------------

    def measure(self, rule: AlertRule, agents: Iterable[AgentEntry], last_seq: int | None,
                now: datetime) -> dict[str, float] | None:
        """Subject -> value for `rule`; None when it cannot be measured now. `last_seq` is the log's last
        sequence (None: unknown)."""
        match rule.measure:
            case "cpu_percent":
                return {a.agent.id: cpu for a in _present(agents)
                        if (cpu := self._agent(a.agent.id).cpu_percent) is not None}
            case "heartbeat_age_s":
                return {a.agent.id: self._age(a, now) for a in _present(agents)}
            case "avg_response_time_s":
                return self._response_times(rule, agents, now)
            case "task_failure_rate":
                return self._failure_rate(rule, now)
            case "projection_lag_events":
                if last_seq is None:
                    return None
                return {name: float(max(0, last_seq - seq)) for name, seq in self.checkpoints.items()}

    def _age(self, entry: AgentEntry, now: datetime) -> float:
        # Silent since its (re-)registration if no heartbeat came since: a restarted coordinator that finds
        # no heartbeat in the bucket (its entries expire) still sees how long the agent has been gone.
        beat = self._agent(entry.agent.id).beat_at
        since = entry.agent.updated_at if beat is None or beat < entry.agent.updated_at else beat
        return max(0.0, (now - since).total_seconds())

    def _response_times(self, rule: AlertRule, agents: Iterable[AgentEntry], now: datetime) -> dict[str, float]:
        start = now - timedelta(seconds=rule.window_s)
        out = {}
        for entry in _present(agents):
            recent = [s for at, s in self._agent(entry.agent.id).responses if at >= start]
            if len(recent) >= rule.min_samples:
                out[entry.agent.id] = sum(recent) / len(recent)
        return out

    def _failure_rate(self, rule: AlertRule, now: datetime) -> dict[str, float]:
        first = int((now - timedelta(seconds=rule.window_s)).timestamp()) // BUCKET_S
        runs = failures = 0
        for bucket, n, failed in reversed(self._buckets):
            if bucket < first:
                break
            runs, failures = runs + n, failures + failed
        return {CLUSTER: failures / runs} if runs >= rule.min_samples else {}


def _present(agents: Iterable[AgentEntry]) -> Iterable[AgentEntry]:
    # Every agent but those that deregistered (left on purpose): an agent the fleet gives up on is still down.
    return (a for a in agents if a.agent.status is not AgentStatus.OFFLINE)
