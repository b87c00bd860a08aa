"""Folding ahead of the writer: batches of at most batch_max events, in order, nothing applied twice."""

from __future__ import annotations

import asyncio

from core.events.task import TaskCreated, TaskQueued
from projections.folding import Folder
from tests.unit.test_projection_fold import raw


class Source:
    """Hands out prepared chunks, then [] (the end), like a closed reader."""

    def __init__(self, chunks: list[list[tuple[int, bytes]]]) -> None:
        self.chunks = chunks

    async def take(self, limit: int) -> list[tuple[int, bytes]]:
        if not self.chunks:
            return []
        chunk = self.chunks.pop(0)
        self.chunks[:0] = [chunk[limit:]] if chunk[limit:] else []
        return chunk[:limit]


def history(first: int, last: int) -> list[tuple[int, bytes]]:
    """Seqs first..last: a task created at every odd seq, queued at the next one."""
    return [
        raw(seq, f"t{seq}", TaskCreated(title="x")) if seq % 2 else raw(seq, f"t{seq - 1}", TaskQueued(attempt=1))
        for seq in range(first, last + 1)
    ]


async def drain(folder: Folder) -> list[tuple[int, int, list[str]]]:
    """(events, last seq, task ids) of every batch the writer would get."""
    run = asyncio.create_task(folder.run())
    out = []
    while (batch := await folder.take()) is not None:
        out.append((batch.events, batch.last_seq, sorted(batch.tasks)))
    await run
    return out


async def test_batches_are_cut_at_batch_max_and_skip_what_was_applied() -> None:
    # Seqs 1-2 are at or below the checkpoint (a redelivery): never folded again. One chunk, so the whole
    # of it is folded before the writer asks.
    folder = Folder(Source([history(1, 9)]), after=2, batch_max=3)
    assert await drain(folder) == [
        (3, 5, ["t3", "t5"]),
        (3, 8, ["t5", "t7"]),
        (1, 9, ["t9"]),
    ]


async def test_live_batch_is_what_was_folded_so_far() -> None:
    source = Source([history(1, 2)])
    folder = Folder(source, after=0, batch_max=1000)
    run = asyncio.create_task(folder.run())
    batch = await folder.take()
    assert batch is not None and (batch.events, batch.last_seq) == (2, 2)
    assert batch.tasks["t1"].status == "queued"
    assert await folder.take() is None
    await run


async def test_a_batch_of_only_skipped_events_still_moves_the_checkpoint() -> None:
    unknown = b'{"event_id":"e","type":"task.teleported.v9","aggregate":"task","aggregate_id":"t",' \
              b'"occurred_at":"2024-05-01T00:00:00Z","actor":"x","data":{}}'
    folder = Folder(Source([[(5, unknown), (6, b"not json")]]), after=4, batch_max=10)
    assert await drain(folder) == [(2, 6, [])]
