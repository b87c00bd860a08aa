"""The shipped Prometheus rules and Grafana dashboard use only metrics Hive really declares (core/metrics.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

import core.metrics
from core.domain.alert_rules import DEFAULT_RULES, SEVERITIES

INFRA = Path(__file__).resolve().parents[2] / "infra"
_SUFFIXES = {"counter": ("_total", "_created"), "gauge": ("",), "histogram": ("_bucket", "_sum", "_count", "_created")}
_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset",
             "inf", "nan"}


def exported_names() -> set[str]:
    """Every series name the declared metrics expose (a histogram's _bucket/_sum/_count, a counter's _total)."""
    names = set()
    for value in vars(core.metrics).values():
        if isinstance(value, MetricWrapperBase):
            for family in value.describe():
                names |= {family.name + suffix for suffix in _SUFFIXES[family.type]}
    return names


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects: identifiers that are not functions, keywords or labels."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings (label values)
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # range and subquery durations
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)  # label lists
    found = set()
    for m in re.finditer(r"(?<![\w.])[A-Za-z_:][A-Za-z0-9_:]*", expr):
        if m.group() in _KEYWORDS or expr[m.end():].lstrip().startswith("("):
            continue
        found.add(m.group())
    return found


def test_the_expression_parser() -> None:
    expr = ('histogram_quantile(0.99, sum by (le, route) (rate(hive_api_request_duration_seconds_bucket'
            '{route=~"/api/.+"}[5m]))) > 1e-3 and on (job) up offset 5m')
    assert metric_names(expr) == {"hive_api_request_duration_seconds_bucket", "up"}


def dashboard() -> dict[str, Any]:
    return json.loads((INFRA / "grafana" / "hive-dashboard.json").read_text())  # type: ignore[no-any-return]


def alert_rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load((INFRA / "prometheus" / "alerts.yml").read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


def dashboard_exprs() -> list[str]:
    return [t["expr"] for p in dashboard()["panels"] for t in p.get("targets", [])]


@pytest.mark.parametrize("source", ["dashboard", "alerts"])
def test_every_metric_referenced_is_declared(source: str) -> None:
    exprs = dashboard_exprs() if source == "dashboard" else [r["expr"] for r in alert_rules()]
    assert exprs
    used = set().union(*(metric_names(e) for e in exprs))
    unknown = used - exported_names()
    assert not unknown, f"{source} uses metrics no Hive service declares: {sorted(unknown)}"


def test_the_dashboard_is_a_grafana_dashboard_with_the_panels_operators_need() -> None:
    dash = dashboard()
    assert dash["title"] and dash["uid"] and isinstance(dash["schemaVersion"], int)
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dash["panels"]:
        assert {"x", "y", "w", "h"} <= set(panel["gridPos"]) and panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        assert all(t["refId"] and t["datasource"]["type"] == "prometheus" for t in panel["targets"])
    used = set().union(*(metric_names(e) for e in dashboard_exprs()))
    assert {
        "hive_tasks_finished_total", "hive_task_queue_length", "hive_active_agents", "hive_agent_utilization_percent",
        "hive_execution_success_rate", "hive_task_completion_time_seconds_bucket",
        "hive_api_request_duration_seconds_bucket", "hive_websocket_connections_active", "hive_projection_lag_events",
        "hive_events_appended_total",
    } <= used


def test_the_alert_rules_match_hive_s_and_the_scrape_config_loads_them() -> None:
    rules = alert_rules()
    assert all(r["alert"].startswith("Hive") and r["labels"]["severity"] in SEVERITIES for r in rules)
    text = (INFRA / "prometheus" / "alerts.yml").read_text()
    # Each of Hive's default rules has a Prometheus rule, or a note that Hive evaluates it itself.
    assert all(re.search(rf"^\s*# {rule.name} \(", text, re.M) for rule in DEFAULT_RULES)
    config = yaml.safe_load((INFRA / "prometheus" / "prometheus.yml").read_text())
    assert all((INFRA / "prometheus" / f).is_file() for f in config["rule_files"])
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    assert jobs == {"hive-gateway", "hive-coordinator", "hive-projections", "hive-sidecar"}
