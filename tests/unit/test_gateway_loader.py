"""TaskLoader: concurrent reads share one query, each gets its own row, a failure reaches every waiter."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import msgspec
import pytest

from gateway.task_loader import TaskLoader

AT = datetime(2026, 1, 1, tzinfo=UTC)


def _row(task_id: str) -> tuple[str]:
    """A row as the read-model query returns it: the task's JSON."""
    task = {"id": task_id, "status": "queued", "title": f"title of {task_id}", "description": "", "prompt": "",
            "capabilities": [], "model": None, "priority": 0, "payload": {}, "depends_on": [], "max_attempts": 1,
            "timeout_s": None, "created_by": "u", "assigned_agent_id": None, "attempt": 0, "result": None,
            "error": None, "created_at": AT, "updated_at": AT, "queued_at": None, "assigned_at": None,
            "started_at": None, "finished_at": None, "seq": 1}
    return (msgspec.json.encode(task).decode(),)


class _Pool:
    """Answers `WHERE id = ANY($1)` from a dict of rows and records each query's ids."""

    def __init__(self, known: set[str], fail: bool = False) -> None:
        self.known, self.fail = known, fail
        self.queries: list[list[str]] = []

    async def fetch(self, query: str, ids: list[str]) -> list[tuple[str]]:
        self.queries.append(ids)
        await asyncio.sleep(0)
        if self.fail:
            raise ConnectionError("database went away")
        return [_row(task_id) for task_id in ids if task_id in self.known]


async def test_reads_arriving_together_share_one_query() -> None:
    pool = _Pool({"a", "b", "c"})
    loader = TaskLoader(pool)  # type: ignore[arg-type]
    views = await asyncio.gather(*(loader.get(task_id) for task_id in ["a", "b", "a", "x", "c"]))
    assert [v.title if v else None for v in views] == ["title of a", "title of b", "title of a", None, "title of c"]
    assert pool.queries == [["a", "b", "x", "c"]]


async def test_batches_are_capped_and_later_reads_get_later_batches() -> None:
    pool = _Pool({str(i) for i in range(10)})
    loader = TaskLoader(pool, max_batch=4, max_in_flight=1)  # type: ignore[arg-type]
    views = await asyncio.gather(*(loader.get(str(i)) for i in range(10)))
    assert [v.id for v in views if v] == [str(i) for i in range(10)]
    assert [len(q) for q in pool.queries] == [4, 4, 2]


async def test_a_failed_query_fails_every_read_in_it_and_the_next_one_works() -> None:
    pool = _Pool({"a"}, fail=True)
    loader = TaskLoader(pool)  # type: ignore[arg-type]
    results = await asyncio.gather(loader.get("a"), loader.get("b"), return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)
    pool.fail = False
    view = await loader.get("a")
    assert view is not None and view.id == "a"


async def test_a_cancelled_read_does_not_disturb_the_others() -> None:
    pool = _Pool({"a", "b"})
    loader = TaskLoader(pool)  # type: ignore[arg-type]
    first = asyncio.ensure_future(loader.get("a"))
    second = asyncio.ensure_future(loader.get("a"))
    await asyncio.sleep(0)
    first.cancel()
    view = await second
    assert view is not None and view.id == "a"
    with pytest.raises(asyncio.CancelledError):
        await first
