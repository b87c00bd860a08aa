"""arq worker for the peer benchmark: `python -m bench.peers.arq_worker URL SETTINGS_JSON [--quiet]`."""

from __future__ import annotations

import json
import logging.config
import sys
from typing import Any

from arq.connections import RedisSettings
from arq.logs import default_log_config
from arq.worker import Worker


async def noop(ctx: dict[str, Any], i: int) -> dict[str, int]:
    return {"i": i}


def main(argv: list[str]) -> None:
    url, settings, *flags = argv
    # What the `arq` CLI does: INFO logs a line per job start and end; --quiet keeps warnings only.
    log_config = default_log_config(verbose=False)
    if "--quiet" in flags:
        log_config["loggers"]["arq"]["level"] = "WARNING"
    logging.config.dictConfig(log_config)
    Worker(functions=[noop], redis_settings=RedisSettings.from_dsn(url), **json.loads(settings)).run()


if __name__ == "__main__":
    main(sys.argv[1:])
