"""Helpers for the workflow engine's unit tests: the shared n8n exports and a fake task runner."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


from core.workflows.engine import Finish, RunState
from core.workflows.errors import InvalidWorkflow
from core.workflows.model import Workflow, parse_workflow
from core.workflows.node_misc import TriggerInput
from core.workflows.node_tasks import ItemResult, TaskRequest
from core.workflows.runner import run_to_end
from core.workflows.validate import validate

# Copies of ../shared/n8n (real n8n exports; README.md there says where each came from), kept in the repo so a
# clean clone tests them.
N8N_DIR = Path(__file__).resolve().parents[1] / "data" / "n8n"
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def n8n_file(name: str) -> bytes:
    return (N8N_DIR / name).read_bytes()


def load(name: str) -> Workflow:
    return parse_workflow(n8n_file(name))


# Two shared exports have one parameter Hive refuses at upload (test_workflow_import's PARAMETER_REJECTS says why);
# tests that run them for their other nodes change only that parameter.
RUNNABLE_FIXES: dict[str, dict[str, dict[str, Any]]] = {
    "webhook-if-http-respond-elevenlabs.json": {"Respond to Webhook": {"respondWith": "firstIncomingItem"}},
    "manual-http-noop-merge-youtube-watermark.json": {"Merge": {"mode": "combine",
                                                                "combinationMode": "mergeByPosition"}},
}


def load_runnable(name: str) -> Workflow:
    """The export, with the fix RUNNABLE_FIXES names for it (if any)."""
    document = json.loads(n8n_file(name))
    for node in document["nodes"]:
        node["parameters"] = {**node.get("parameters", {}), **RUNNABLE_FIXES.get(name, {}).get(node["name"], {})}
    return parse_workflow(document)


class FakeTasks:
    """Answers each task with `answer(node, request)`: a string (success) or an exception-free failure tuple."""

    def __init__(self, answer: Callable[[str, TaskRequest], Any]) -> None:
        self.answer = answer
        self.calls: list[tuple[str, TaskRequest]] = []

    def __call__(self, node: str, request: TaskRequest, task_id: str) -> ItemResult:
        self.calls.append((node, request))
        out = self.answer(node, request)
        if isinstance(out, tuple):  # ("fail", error, output)
            return ItemResult(task_id=task_id, ok=False, error=out[1], output=out[2] if len(out) > 2 else "")
        return ItemResult(task_id=task_id, ok=True, output=out if isinstance(out, str) else json.dumps(out))


def http_ok(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> str:
    return json.dumps({"status": status, "headers": headers or {"content-type": "application/json"}, "body": body})


def run(workflow: Workflow, tasks: FakeTasks | None = None, given: TriggerInput | None = None,
        trigger: str | None = None) -> tuple[Finish, RunState]:
    return run_to_end(workflow, validate(workflow), NOW, trigger=trigger, given=given, tasks=tasks)


def outputs(state: RunState, node: str) -> list[list[dict[str, Any]]]:
    run = state.nodes[node]
    assert run.outputs is not None, (node, run.status, run.error)
    return [[item.json for item in out] for out in run.outputs]


def upload_problems(node_type: str, version: float, parameters: dict[str, Any], name: str) -> list[tuple[str, str]]:
    """(field, message) of each problem upload finds in a workflow of a manual trigger feeding one node."""
    document = {"nodes": [{"name": "Start", "type": "n8n-nodes-base.manualTrigger", "parameters": {}},
                          {"name": name, "type": node_type, "typeVersion": version, "parameters": parameters}],
                "connections": {"Start": {"main": [[{"node": name, "type": "main", "index": 0}]]}}}
    try:
        validate(parse_workflow(document))
    except InvalidWorkflow as err:
        return [(p.field, p.message) for p in err.problems]
    return []
