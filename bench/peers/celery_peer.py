"""Celery peer: no-op tasks through Celery on Redis, first apply_async to last result stored, per configuration."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from celery import Celery

from bench.peers.celery_app import TASK_NAME, make_app
from bench.peers.processes import workers
from bench.peers.redis_server import redis_db, wait_for_keys

PREFORK_2 = ("-P", "prefork", "-c", "2")  # 2 cores: one pool process each
# Documented worker flags for a worker that needs no cluster chatter (gossip, mingle at start, heartbeat events).
SOLITARY = ("--without-gossip", "--without-mingle", "--without-heartbeat")


@dataclass(frozen=True)
class Config:
    conf: dict[str, Any] = field(default_factory=dict)  # Celery settings, for client and workers alike
    worker_args: tuple[str, ...] = PREFORK_2
    processes: int = 1


TUNED = {"worker_prefetch_multiplier": 64, "worker_disable_rate_limits": True}
CONFIGS: dict[str, Config] = {
    "default": Config(),
    # The optimizing guide: short tasks want a large prefetch multiplier.
    "prefetch64": Config({"worker_prefetch_multiplier": 64}),
    "acks_late": Config({"task_acks_late": True}),
    "threads": Config(worker_args=("-P", "threads", "-c", "2")),
    "solo_x2": Config({"worker_prefetch_multiplier": 64}, ("-P", "solo"), processes=2),
    "tuned": Config(TUNED, PREFORK_2 + SOLITARY),
    # kombu's Redis transport option: no unacked hash per message (a crash loses prefetched tasks).
    "tuned_no_ack_emulation": Config({**TUNED, "broker_transport_options": {"ack_emulation": False}},
                                     PREFORK_2 + SOLITARY),
}


def _round(app: Celery, url: str, n: int) -> float:
    """Tasks/s from the first apply_async to the moment every result is in Redis."""
    task = app.tasks[TASK_NAME]
    t0 = time.perf_counter()
    ids = [task.apply_async((i,)).id for i in range(n)]
    t1 = wait_for_keys(url, [app.backend.get_key_for_task(i) for i in ids])
    return n / (t1 - t0)


def measure(config: Config, n: int, warmup: int = 50) -> float:
    with redis_db() as url:
        app = make_app(url, config.conf)
        run_id = uuid.uuid4().hex[:8]
        commands = [["-m", "bench.peers.celery_app", url, json.dumps(config.conf), "worker", "-l", "WARNING",
                     "-n", f"bench{i}-{run_id}@%h", *config.worker_args] for i in range(config.processes)]
        try:
            with workers(commands):
                _round(app, url, warmup)  # returns once the workers consume: they are up
                return _round(app, url, n)
        finally:
            app.close()


def measure_all(quick: bool) -> dict[str, float]:
    n = 2_000 if quick else 20_000
    figures = {f"celery_cfg_{name}_tasks_per_s": measure(config, n) for name, config in CONFIGS.items()}
    return {
        "celery_tasks_per_s": max(figures.values()),
        "celery_default_tasks_per_s": figures["celery_cfg_default_tasks_per_s"],
        **figures,
    }


async def run(quick: bool) -> dict[str, float]:
    return await asyncio.to_thread(measure_all, quick)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.peers.celery_peer")
    parser.add_argument("--quick", action="store_true")
    for key, value in asyncio.run(run(parser.parse_args().quick)).items():
        print(f"{key}: {value:,.1f}")
