"""The event store on a real nats-server: optimistic concurrency, de-duplication, history loading."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from core.errors import ConcurrencyError
from core.events import new_envelope
from core.events.task import TaskCreated, TaskQueued
from core.ids import uuid7
from core.settings import Settings
from core.store.connect import connect
from core.store.event_store import EventStore
from core.store.publisher import Publisher


def queued(task_id: str, attempt: int = 1):  # type: ignore[no-untyped-def]
    return new_envelope(TaskQueued(attempt=attempt), event_id=uuid7(), aggregate_id=task_id,
                        occurred_at=datetime.now(UTC), actor="test")


def created(task_id: str):  # type: ignore[no-untyped-def]
    return new_envelope(TaskCreated(title="x"), event_id=uuid7(), aggregate_id=task_id,
                        occurred_at=datetime.now(UTC), actor="test")


@pytest.fixture
async def store(settings: Settings):  # type: ignore[no-untyped-def]
    nc, js = await connect(settings, "test")
    yield EventStore(nc, js, settings)
    await nc.close()


async def test_streams_are_created_idempotently(settings: Settings) -> None:
    for _ in range(2):
        nc, js = await connect(settings, "again")
        names = {s.config.name for s in await js.streams_info()}
        await nc.close()
    assert {settings.events_stream, settings.dispatch_stream, settings.reports_stream,
            f"KV_{settings.heartbeat_bucket}"} <= names


async def test_two_concurrent_appends_exactly_one_wins(store: EventStore) -> None:
    task_id = uuid7()
    last = await store.append([created(task_id)], 0)
    results = await asyncio.gather(
        store.append([queued(task_id, 1)], last), store.append([queued(task_id, 2)], last), return_exceptions=True
    )
    assert sorted(type(r).__name__ for r in results) == ["ConcurrencyError", "int"]
    history = await store.load("task", task_id)
    assert [r.envelope.type for r in history] == ["task.created.v1", "task.queued.v1"]


async def test_appending_to_an_existing_aggregate_as_new_conflicts(store: EventStore) -> None:
    task_id = uuid7()
    await store.append([created(task_id)], 0)
    with pytest.raises(ConcurrencyError):
        await store.append([created(task_id)], 0)


async def test_duplicate_event_id_is_stored_once(store: EventStore) -> None:
    task_id = uuid7()
    event = created(task_id)
    first = await store.append([event], 0)
    # A retried publish of the same event (same Nats-Msg-Id) is recognised, even with a stale expectation.
    again = await store.append([event], 0)
    assert first == again
    assert len(await store.load("task", task_id)) == 1


async def test_load_returns_history_in_order_only_for_that_aggregate(store: EventStore) -> None:
    a, b = uuid7(), uuid7()
    seq_a = await store.append([created(a)], 0)
    seq_b = await store.append([created(b)], 0)
    seq_a = await store.append([queued(a, 1), queued(a, 2)], seq_a)
    history = await store.load("task", a)
    assert [r.envelope.data for r in history][1:] == [TaskQueued(attempt=1), TaskQueued(attempt=2)]
    assert [r.seq for r in history] == sorted(r.seq for r in history) and history[-1].seq == seq_a
    assert [r.seq for r in await store.load("task", b)] == [seq_b]
    assert await store.load("task", uuid7()) == []


async def test_append_many_pipelines_batches_and_reports_each_outcome(store: EventStore) -> None:
    fresh, taken, multi = uuid7(), uuid7(), uuid7()
    taken_seq = await store.append([created(taken)], 0)
    results = await store.append_many([
        ([created(fresh)], 0),
        ([created(taken)], 0),  # exists already: only this batch fails
        ([created(multi), queued(multi, 1), queued(multi, 2)], 0),
    ])
    assert isinstance(results[0], int)
    assert isinstance(results[1], ConcurrencyError)
    assert isinstance(results[2], int)
    assert [r.envelope.type for r in await store.load("task", multi)] == [
        "task.created.v1", "task.queued.v1", "task.queued.v1"]
    assert len(await store.load("task", taken)) == 1 and taken_seq > 0


async def test_append_many_retried_after_its_acks_were_lost_stores_nothing_twice(store: EventStore) -> None:
    task_id = uuid7()
    batch = [created(task_id), queued(task_id, 1)]
    first = await store.append_many([(batch, 0)])
    # The same envelopes again (as after a timeout whose publishes had in fact been stored).
    again = await store.append_many([(batch, 0)])
    assert first == again
    assert len(await store.load("task", task_id)) == 2


async def test_publish_acks_are_matched_to_their_messages_under_load(store: EventStore) -> None:
    ids = [uuid7() for _ in range(2000)]
    results = await store.append_many([([created(i)], 0) for i in ids])
    seqs = [r for r in results if isinstance(r, int)]
    assert len(seqs) == len(ids) and len(set(seqs)) == len(ids)
    for task_id, seq in zip(ids[::250], seqs[::250], strict=True):
        assert [r.seq for r in await store.load("task", task_id)] == [seq]


async def test_extra_headers_are_stored_with_the_event(store: EventStore, settings: Settings) -> None:
    task_id = uuid7()
    trace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    seq = await store.append([created(task_id)], 0, headers={"traceparent": trace})
    nc, js = await connect(settings, "reader", ensure=False)
    try:
        stored = await js.get_msg(settings.events_stream, seq)
    finally:
        await nc.close()
    assert stored.headers is not None
    assert stored.headers["traceparent"] == trace and stored.headers["Hive-Event-Type"] == "task.created.v1"
    with pytest.raises(ValueError):
        await store.append([created(uuid7())], 0, headers={"traceparent": "a\r\nInjected: 1"})


async def test_publisher_keeps_at_most_its_window_of_acks_outstanding(settings: Settings) -> None:
    nc, _js = await connect(settings, "window")
    publisher = Publisher(nc, window=4)
    peak = 0

    async def one(i: int) -> int:
        nonlocal peak
        future = await publisher.submit(settings.event_subject("task", f"w{i}"), b"{}")
        peak = max(peak, len(publisher._waiting))
        return int((await future).seq)

    try:
        seqs = await asyncio.gather(*(one(i) for i in range(50)))
    finally:
        await publisher.close()
        await nc.close()
    assert len(set(seqs)) == 50 and peak <= 4


async def test_a_decision_whose_expectation_is_stale_stores_none_of_its_events(store: EventStore) -> None:
    task_id = uuid7()
    seq = await store.append([created(task_id)], 0)
    await store.append([queued(task_id, 1)], seq)
    with pytest.raises(ConcurrencyError):
        await store.append([queued(task_id, 2), queued(task_id, 3)], seq)  # stale: written on top of seq
    assert [r.envelope.data for r in await store.load("task", task_id)][1:] == [TaskQueued(attempt=1)]
