"""`python -m bench [--quick] [--runs N] [--only NAME...]`: every benchmark, N times; markdown table and JSON.

Each pass runs Hive's benchmarks and the Celery and arq peers one after another on the same machine, so
ratios compare figures from the same pass. The table and `bench/results/latest.json` give each figure's
median over the passes with its min and max.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

# name -> module with `async def run(quick: bool) -> dict[str, float]`
BENCHMARKS = {
    "e2e": "bench.e2e",
    "event_store": "bench.event_store",
    "projections": "bench.projections",
    "gateway": "bench.gateway",
    "scale": "bench.scale",
    "ws_fanout": "bench.ws_fanout",
    "celery": "bench.peers.celery_peer",
    "arq": "bench.peers.arq_peer",
}

# (figure, goal, higher is better); the goals, checked against the medians.
GOALS: list[tuple[str, float, bool]] = [
    ("e2e_tasks_per_s", 3000, True),
    ("e2e_vs_best_peer", 2.0, True),
    ("dispatch_p50_ms", 3, False),
    ("dispatch_p99_ms", 15, False),
    ("complete_p99_ms", 50, False),
    ("append_vs_raw_ratio", 0.70, True),
    ("replay_events_per_s", 30_000, True),
    ("projection_lag_p99_ms", 50, False),
    ("get_task_rps", 10_000, True),
    ("get_task_p99_ms", 10, False),
    ("post_task_rps", 5_000, True),
    ("post_task_p99_ms", 25, False),
    ("placement_p99_ms", 1, False),
    ("coordinator_rss_mb", 500, False),
    ("ws_fanout_p99_ms", 50, False),
]


def _ratios(figures: dict[str, float]) -> None:
    peers = [figures[k] for k in ("celery_tasks_per_s", "arq_tasks_per_s") if k in figures]
    if "e2e_tasks_per_s" in figures and peers:
        figures["best_peer_tasks_per_s"] = max(peers)
        figures["e2e_vs_best_peer"] = figures["e2e_tasks_per_s"] / max(peers)
        for key in ("celery_tasks_per_s", "arq_tasks_per_s"):
            if key in figures:
                figures[f"e2e_vs_{key.split('_')[0]}"] = figures["e2e_tasks_per_s"] / figures[key]


def _machine() -> str:
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{platform.machine()} {os.cpu_count()} cores {cpu}, Python {platform.python_version()}, {platform.system()}"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="smaller counts (under 5 minutes)")
    parser.add_argument("--runs", type=int, default=None, help="passes over every benchmark (default 3, quick 1)")
    parser.add_argument("--only", nargs="*", choices=sorted(BENCHMARKS), help="run only these")
    args = parser.parse_args()
    runs = args.runs or (1 if args.quick else 3)
    names = args.only or list(BENCHMARKS)
    passes: list[dict[str, float]] = []
    started = time.time()
    for n in range(runs):
        figures: dict[str, float] = {}
        for name in names:
            t0 = time.perf_counter()
            module: Any = importlib.import_module(BENCHMARKS[name])
            figures.update(asyncio.run(module.run(args.quick)))
            print(f"[pass {n + 1}/{runs}] {name}: {time.perf_counter() - t0:.0f}s", file=sys.stderr, flush=True)
        _ratios(figures)
        passes.append(figures)
    keys = list(dict.fromkeys(k for figures in passes for k in figures))
    median = {k: statistics.median(p[k] for p in passes if k in p) for k in keys}
    low = {k: min(p[k] for p in passes if k in p) for k in keys}
    high = {k: max(p[k] for p in passes if k in p) for k in keys}
    goals = {key: {"goal": goal, "met": (median[key] >= goal) if up else (median[key] <= goal)}
             for key, goal, up in GOALS if key in median}
    print(f"\n{runs} pass(es), {'quick' if args.quick else 'full'}; machine: {_machine()}\n")
    print("| figure | median | min | max | goal |\n|---|---:|---:|---:|---|")
    for k in keys:
        goal = goals.get(k)
        mark = "" if goal is None else f"{'≥' if dict((g[0], g[2]) for g in GOALS)[k] else '≤'} {goal['goal']:g} " \
            f"{'met' if goal['met'] else 'NOT met'}"
        print(f"| {k} | {median[k]:,.2f} | {low[k]:,.2f} | {high[k]:,.2f} | {mark} |")
    out = Path(__file__).parent / "results" / "latest.json"
    out.parent.mkdir(exist_ok=True)
    result: dict[str, Any] = dict(median)
    result.update({"machine": _machine(), "quick": args.quick, "runs": runs, "min": low, "max": high,
                   "goals": goals, "passes": passes, "started_at": started, "seconds": time.time() - started})
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
