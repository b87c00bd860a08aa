"""arq peer: no-op jobs through arq on Redis, first enqueue_job to last result stored, per configuration."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

from arq import ArqRedis, create_pool
from arq.connections import RedisSettings
from arq.constants import result_key_prefix

from bench.peers.processes import workers
from bench.peers.redis_server import redis_db, wait_for_keys

ENQUEUE_CONCURRENCY = 64


@dataclass(frozen=True)
class Config:
    settings: dict[str, Any] = field(default_factory=dict)  # arq Worker keyword arguments
    processes: int = 1
    quiet: bool = False  # warnings only instead of the CLI's line per job


TUNED = {"poll_delay": 0.01, "max_jobs": 50}
CONFIGS: dict[str, Config] = {
    "default": Config(),  # poll_delay 0.5 s, max_jobs 10
    "tuned": Config(TUNED),
    "tuned_quiet": Config(TUNED, quiet=True),
    "tuned_x2": Config(TUNED, processes=2),
    "tuned_quiet_x2": Config(TUNED, processes=2, quiet=True),
}


async def _round(pool: ArqRedis, url: str, n: int) -> float:
    """Jobs/s from the first enqueue_job to the moment every result is in Redis."""
    sem = asyncio.Semaphore(ENQUEUE_CONCURRENCY)

    async def one(i: int) -> str:
        async with sem:
            job = await pool.enqueue_job("noop", i)
        assert job is not None  # None only for a duplicate job id
        return job.job_id

    t0 = time.perf_counter()
    ids = await asyncio.gather(*(one(i) for i in range(n)))
    t1 = await asyncio.to_thread(wait_for_keys, url, [result_key_prefix + i for i in ids])
    return n / (t1 - t0)


async def measure(config: Config, n: int, warmup: int = 50) -> float:
    with redis_db() as url:
        args = ["-m", "bench.peers.arq_worker", url, json.dumps(config.settings)] + (["--quiet"] if config.quiet else [])
        pool = await create_pool(RedisSettings.from_dsn(url))
        try:
            with workers([args] * config.processes):
                await _round(pool, url, warmup)  # returns once the workers consume: they are up
                return await _round(pool, url, n)
        finally:
            await pool.aclose()


async def run(quick: bool) -> dict[str, float]:
    n = 2_000 if quick else 20_000
    figures = {f"arq_cfg_{name}_tasks_per_s": await measure(config, n) for name, config in CONFIGS.items()}
    return {
        "arq_tasks_per_s": max(figures.values()),
        "arq_default_tasks_per_s": figures["arq_cfg_default_tasks_per_s"],
        **figures,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.peers.arq_peer")
    parser.add_argument("--quick", action="store_true")
    for key, value in asyncio.run(run(parser.parse_args().quick)).items():
        print(f"{key}: {value:,.1f}")
