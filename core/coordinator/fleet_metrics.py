"""The coordinator's Prometheus gauges and counters, refreshed from its fleet once a second (not per event)."""

from __future__ import annotations

from collections import deque

from collections import Counter
from collections.abc import Iterable

from core.coordinator.fleet import Fleet
from core.domain.alerts import AlertState
from core.domain.task import TaskStatus
from core.metrics import (
    ACTIVE_AGENTS,
    AGENT_UTILIZATION,
    ALERTS_OPEN,
    EXECUTION_SUCCESS_RATE,
    TASK_COMPLETION_SECONDS,
    TASK_QUEUE_LENGTH,
    TASKS_FINISHED,
)

# The success rate is over this many of the latest finished tasks.
SUCCESS_WINDOW = 1000


class FleetMetrics:
    def __init__(self) -> None:
        self._outcomes: deque[bool] = deque(maxlen=SUCCESS_WINDOW)
        self._alert_series: set[tuple[str, str]] = set()

    def forget_history(self, fleet: Fleet) -> None:
        """Tasks that finished before this process took over were counted by the one that saw them."""
        fleet.finished.clear()

    def refresh_alerts(self, book: Iterable[AlertState]) -> None:
        """hive_alerts_open: Hive's own open alerts, so Prometheus can page on them too (rules are few)."""
        open_now = Counter((a.rule, a.severity) for a in book if a.open_id is not None)
        for series in self._alert_series - open_now.keys():
            ALERTS_OPEN.labels(*series).set(0)
        for series, n in open_now.items():
            ALERTS_OPEN.labels(*series).set(n)
        self._alert_series |= open_now.keys()

    def refresh(self, fleet: Fleet) -> None:
        while fleet.finished:
            task = fleet.finished.popleft()
            TASKS_FINISHED.labels(str(task.status)).inc()
            completed = task.status is TaskStatus.COMPLETED
            self._outcomes.append(completed)
            if completed and task.finished_at is not None:
                TASK_COMPLETION_SECONDS.observe(max(0.0, (task.finished_at - task.created_at).total_seconds()))
        if self._outcomes:
            EXECUTION_SUCCESS_RATE.set(sum(self._outcomes) / len(self._outcomes))
        TASK_QUEUE_LENGTH.set(fleet.by_status[TaskStatus.QUEUED])
        online = [a.candidate for a in fleet.agents.values() if a.candidate.online]
        ACTIVE_AGENTS.set(len(online))
        slots = sum(c.max_concurrency for c in online)
        busy = sum(min(c.in_flight, c.max_concurrency) for c in online)
        AGENT_UTILIZATION.set(100.0 * busy / slots if slots else 0.0)
