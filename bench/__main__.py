"""`python -m bench [--quick]`: runs the benchmarks, prints a markdown table, writes bench/results/latest.json."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
from pathlib import Path

from bench import e2e


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="smaller counts (about a minute)")
    args = parser.parse_args()
    n, paced_n, rate = (1000, 500, 100.0) if args.quick else (5000, 2000, 200.0)
    results = asyncio.run(e2e.run(n, paced_n, rate))
    results["machine"] = f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}"
    print("| figure | value |\n|---|---|")
    for key, value in results.items():
        print(f"| {key} | {value:.1f} |" if isinstance(value, float) else f"| {key} | {value} |")
    out = Path(__file__).parent / "results" / "latest.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
