"""The batch create-task command: every item validated first (all or nothing), then all appended together.

With an Idempotency-Key K, item i is created as if sent alone with the key `K#i`, so a retried batch
returns the same tasks. The appends are pipelined (EventStore.append_many): a batch of 1,000 costs about
one round trip to JetStream, not 1,000.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import msgspec

from core.errors import ConcurrencyError
from core.tracing import request_headers
from gateway.auth import Principal
from gateway.create_task import (
    IDEMPOTENCY_HEADER,
    Submission,
    check_idempotency_key,
    check_spec,
    decode_body,
    missing_tasks,
    raise_field_errors,
    replay,
    submission,
)
from gateway.errors import Conflict, FieldError, Unavailable
from gateway.schemas import BATCH_MAX_ITEMS, CreateTask, CreateTaskBatch, TaskView
from gateway.services import Services

_decoder = msgspec.json.Decoder(CreateTaskBatch)
# Replays of an already-stored batch read each task's history; this many at once.
REPLAY_CONCURRENCY = 64


class BatchCreated(msgspec.Struct, frozen=True):
    items: list[TaskView]
    replayed: bool  # every task already existed (a retried batch)


def parse_batch(body: bytes) -> list[CreateTask]:
    batch = decode_body(body, _decoder, f'send {{"tasks": [...]}} with 1 to {BATCH_MAX_ITEMS} tasks')
    return [check_spec(spec, f"$.tasks[{i}]") for i, spec in enumerate(batch.tasks)]


def item_key(key: str | None, i: int) -> str | None:
    return None if key is None else f"{key}#{i}"


async def check_batch_dependencies(services: Services, specs: list[CreateTask], ids: list[str]) -> None:
    """A dependency must exist already or be an earlier item of this batch (appended before it)."""
    position = {task_id: i for i, task_id in enumerate(ids)}
    outside = [dep for spec in specs for dep in spec.depends_on if dep not in position]
    missing = await missing_tasks(services, outside)
    errors: list[FieldError] = []
    for i, spec in enumerate(specs):
        for j, dep in enumerate(spec.depends_on):
            at = position.get(dep)
            if at is not None and at >= i:
                errors.append(FieldError(f"$.tasks[{i}].depends_on[{j}]",
                                         f"task {dep} is item {at} of this batch; an item may depend on earlier ones"))
            elif at is None and dep in missing:
                errors.append(FieldError(f"$.tasks[{i}].depends_on[{j}]", f"no task with id {dep}"))
    raise_field_errors(errors)


async def _replays(services: Services, subs: dict[int, Submission]) -> dict[int, TaskView | Exception]:
    limit = asyncio.Semaphore(REPLAY_CONCURRENCY)

    async def one(sub: Submission) -> TaskView | Exception:
        async with limit:
            try:
                return (await replay(services, sub.task_id, sub.digest)).task
            except (Conflict, Unavailable) as err:
                return err

    views = await asyncio.gather(*(one(sub) for sub in subs.values()))
    return dict(zip(subs, views, strict=True))


async def create_batch(
    services: Services, principal: Principal, body: bytes, key: str | None, request_id: str | None
) -> BatchCreated:
    specs = parse_batch(body)
    key = check_idempotency_key(key)
    now = datetime.now(UTC)
    attempts = services.settings.task_max_attempts
    subs = [submission(spec, item_key(key, i), principal, request_id, now, attempts) for i, spec in enumerate(specs)]
    await check_batch_dependencies(services, specs, [sub.task_id for sub in subs])
    # expected_seq 0 for each: exactly one TaskCreated is ever stored per id.
    results = await services.store.append_many([([sub.envelope], 0) for sub in subs], headers=request_headers())
    items: dict[int, TaskView] = {}
    existing: dict[int, Submission] = {}
    failed: dict[int, BaseException] = {}
    for i, (sub, result) in enumerate(zip(subs, results, strict=True)):
        if isinstance(result, int):
            items[i] = sub.view(result)
        elif isinstance(result, ConcurrencyError) and key is not None:
            existing[i] = sub  # stored by an earlier try of this batch (or a single POST with key K#i)
        else:
            failed[i] = result
    created = [subs[i].task_id for i in sorted(items)]
    conflicts: list[int] = []
    for i, outcome in (await _replays(services, existing)).items():
        if isinstance(outcome, Conflict):
            conflicts.append(i)
        elif isinstance(outcome, Exception):
            failed[i] = outcome
        else:
            items[i] = outcome
    if failed:
        raise Unavailable(
            f"{len(failed)} of {len(subs)} tasks could not be confirmed stored ({next(iter(failed.values()))!r}); "
            f"{len(created)} were created (see 'created'). Retry the whole batch with the same {IDEMPOTENCY_HEADER} "
            "to complete it without duplicates",
            errors=[FieldError(f"$.tasks[{i}]", f"not confirmed stored: {err!r}") for i, err in sorted(failed.items())],
            created=created,
        )
    if conflicts:
        raise Conflict(
            f"{IDEMPOTENCY_HEADER} {key!r} was already used for a batch with different tasks "
            f"(item {conflicts[0]} differs); use a new key for a new batch",
            errors=[FieldError(f"$.tasks[{i}]", f"differs from the task first stored for key {item_key(key, i)!r}")
                    for i in conflicts],
            created=created,
        )
    return BatchCreated([items[i] for i in range(len(subs))], replayed=not created)
