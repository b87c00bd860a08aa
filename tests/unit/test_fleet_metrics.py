"""The coordinator's Prometheus figures from its state: open alerts by rule and severity."""

from __future__ import annotations

from prometheus_client import REGISTRY

from core.coordinator.fleet_metrics import FleetMetrics
from core.domain.alerts import AlertState


def _open(rule: str, severity: str) -> float | None:
    return REGISTRY.get_sample_value("hive_alerts_open", {"rule": rule, "severity": severity})


def test_open_alerts_are_counted_and_drop_to_zero_once_resolved() -> None:
    metrics = FleetMetrics()
    down = [AlertState(rule="agent_down", subject=f"gpu-{i}", open_id=f"a{i}", severity="critical") for i in range(2)]
    closed = AlertState(rule="high_cpu", subject="gpu-0", open_id=None, severity="warning")
    metrics.refresh_alerts([*down, closed])
    assert _open("agent_down", "critical") == 2
    assert _open("high_cpu", "warning") in (None, 0)  # never open: no series, or one at 0
    down[0].open_id = None
    metrics.refresh_alerts(down)
    assert _open("agent_down", "critical") == 1
    down[1].open_id = None
    metrics.refresh_alerts(down)
    assert _open("agent_down", "critical") == 0
