"""Evaluating one expression the way a node parameter does, and running the same code in Node.js to compare."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

from core.workflows.context import ItemScope, RunView
from core.workflows.expr_eval import evaluate
from core.workflows.expr_parser import parse
from core.workflows.expressions import plain_value
from core.workflows.items import Item

ITEM_JSON: dict[str, Any] = {
    "name": "Ada", "n": 3, "tags": ["b", "a", "c"], "nums": [10, 9, 1, 25],
    "people": [{"name": "Bo", "age": 31}, {"name": "al", "age": 25}, {"name": "Cy", "age": 31}],
    "counts": {"x": 2, "y": 5}, "text": "Order #123 shipped on 2024-01-15 to jo@example.com",
}


def scope() -> ItemScope:
    item = Item(json=json.loads(json.dumps(ITEM_JSON)))
    return ItemScope(RunView(), "Here", [item], 0)


def ev(source: str) -> Any:
    """The expression's value as the node would store it (JSON data)."""
    return plain_value(evaluate(parse(source), scope()))


_NODE_RUNNER = """
const data = %s;
const cases = %s;
const out = cases.map((src) => {
  try {
    const value = new Function('$json', 'return (' + src + '\\n)')(JSON.parse(JSON.stringify(data)));
    const text = JSON.stringify(value, (k, v) => (v instanceof Set || v instanceof Map) ? {} : v);
    return {ok: text === undefined ? null : JSON.parse(text)};
  } catch (e) {
    return {err: String(e)};
  }
});
process.stdout.write(JSON.stringify(out));
"""


def node_available() -> bool:
    return shutil.which("node") is not None


def run_in_node(sources: list[str]) -> list[dict[str, Any]]:
    """Each source evaluated by Node.js with the same `$json`: {"ok": JSON value} or {"err": message}."""
    script = _NODE_RUNNER % (json.dumps(ITEM_JSON), json.dumps(sources))
    done = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=120, check=True)
    results: list[dict[str, Any]] = json.loads(done.stdout)
    return results
