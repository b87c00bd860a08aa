"""Coalesces concurrent task reads into one read-model query (`WHERE id = ANY($1)`), so a busy gateway pays one
pool checkout and one round trip per batch instead of per request.

A read still sees the read model as of a query issued after it arrived: batching changes cost, not freshness.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from gateway import readmodel
from gateway.schemas import TaskView

MAX_BATCH = 256
# Batches in flight at once; reads arriving meanwhile wait for the next batch (one loop turn at low load).
MAX_IN_FLIGHT = 4


class TaskLoader:
    def __init__(self, pool: asyncpg.Pool[Any], *, max_batch: int = MAX_BATCH,
                 max_in_flight: int = MAX_IN_FLIGHT) -> None:
        self._pool = pool
        self._max_batch = max_batch
        self._max_in_flight = max_in_flight
        self._pending: dict[str, list[asyncio.Future[TaskView | None]]] = {}
        self._in_flight = 0
        self._flush_scheduled = False
        self._running: set[asyncio.Task[None]] = set()

    async def get(self, task_id: str) -> TaskView | None:
        future: asyncio.Future[TaskView | None] = asyncio.get_running_loop().create_future()
        waiting = self._pending.get(task_id)
        if waiting is None:
            self._pending[task_id] = [future]
        else:
            waiting.append(future)
        self._schedule()
        return await future

    def _schedule(self) -> None:
        if self._pending and not self._flush_scheduled and self._in_flight < self._max_in_flight:
            self._flush_scheduled = True
            # On the next loop turn: every request parsed in this turn joins the same batch.
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if not self._pending or self._in_flight >= self._max_in_flight:
            return
        if len(self._pending) <= self._max_batch:
            batch, self._pending = self._pending, {}
        else:
            ids = list(self._pending)[: self._max_batch]
            batch = {task_id: self._pending.pop(task_id) for task_id in ids}
        self._in_flight += 1
        task = asyncio.get_running_loop().create_task(self._load(batch))
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        self._schedule()

    async def _load(self, batch: dict[str, list[asyncio.Future[TaskView | None]]]) -> None:
        try:
            views = await readmodel.get_tasks(self._pool, list(batch))
        except BaseException as err:  # every waiter gets the failure (a cancel, at shutdown, cancels them)
            for futures in batch.values():
                for future in futures:
                    if future.done():
                        continue
                    if isinstance(err, Exception):
                        future.set_exception(err)
                    else:
                        future.cancel()
            if not isinstance(err, Exception):
                raise
        else:
            for task_id, futures in batch.items():
                view = views.get(task_id)
                for future in futures:
                    if not future.done():  # its request may have been cancelled meanwhile
                        future.set_result(view)
        finally:
            self._in_flight -= 1
            self._schedule()
