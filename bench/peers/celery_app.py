"""Celery app for the peer benchmark: a no-op task on Redis; `python -m bench.peers.celery_app URL CONF_JSON worker ...`."""

from __future__ import annotations

import json
import sys
from typing import Any

from celery import Celery

TASK_NAME = "noop"


def make_app(url: str, conf: dict[str, Any]) -> Celery:
    """Broker and result backend on the same Redis database, as a typical Celery + Redis deployment."""
    app = Celery("hive_bench_peer", broker=url, backend=url)
    app.conf.update(conf)

    @app.task(name=TASK_NAME)
    def noop(i: int) -> dict[str, int]:
        return {"i": i}

    return app


def main(argv: list[str]) -> None:
    url, conf, *worker_argv = argv
    make_app(url, json.loads(conf)).worker_main(worker_argv)


if __name__ == "__main__":
    main(sys.argv[1:])
