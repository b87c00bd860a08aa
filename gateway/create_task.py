"""The create-task command: validate, check dependencies, append TaskCreated once per Idempotency-Key."""

from __future__ import annotations

import asyncio
import hashlib
import re
from datetime import UTC, datetime
from collections.abc import Sequence
from typing import Any, TypeVar

import msgspec

from core.errors import ConcurrencyError
from core.events import new_envelope
from core.events.envelope import Envelope, Recorded
from core.events.task import TaskCreated
from core.ids import idempotent_task_id, uuid7
from core.tracing import request_headers
from gateway import readmodel
from gateway.auth import Principal
from gateway.errors import Conflict, FieldError, InvalidInput, Unavailable, from_msgspec, invalid
from gateway.schemas import PAYLOAD_MAX_DEPTH, CreateTask, TaskView
from gateway.services import Services
from gateway.task_views import view_from_history

IDEMPOTENCY_HEADER = "Idempotency-Key"
# Printable ASCII, no leading space, at most 200 characters.
_KEY = re.compile(r"^[!-~][ -~]{0,199}$")
_decoder = msgspec.json.Decoder(CreateTask)
_canonical = msgspec.json.Encoder(order="sorted")
T = TypeVar("T")


class Created(msgspec.Struct, frozen=True):
    task: TaskView
    replayed: bool


def json_depth(value: object) -> int:
    """Nesting depth of a JSON value, iteratively (the value may be deep enough to break recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is not None:
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in children)
    return deepest


def decode_body(body: bytes, decoder: msgspec.json.Decoder[T], empty: str) -> T:
    """The body as `decoder`'s type; every way it can be wrong is a 400 naming the field (`empty` says what to send)."""
    if not body.strip():
        raise invalid("$", f"the body is empty; {empty}")
    try:
        return decoder.decode(body)
    except msgspec.MsgspecError as err:
        raise from_msgspec(err) from err
    except UnicodeDecodeError as err:
        raise invalid("$", f"the body is not valid UTF-8 ({err.reason} at byte {err.start})") from err
    except RecursionError as err:
        raise invalid("$", f"the body is nested too deeply (the payload may nest {PAYLOAD_MAX_DEPTH} levels)") from err


def check_spec(spec: CreateTask, at: str = "$") -> CreateTask:
    """What the schema cannot say about one task; `at` is its path in the body (`$.tasks[3]` in a batch)."""
    if json_depth(spec.payload) > PAYLOAD_MAX_DEPTH:
        # Deep documents break other JSON readers of the log (orjson stops at 255 levels).
        raise invalid(f"{at}.payload", f"nests deeper than {PAYLOAD_MAX_DEPTH} levels")
    if not spec.title.strip():
        raise invalid(f"{at}.title", "must contain a non-space character")
    for field, values in (("capabilities", spec.capabilities), ("depends_on", spec.depends_on)):
        seen: set[str] = set()
        for i, value in enumerate(values):
            if value in seen:
                raise invalid(f"{at}.{field}[{i}]", f"duplicate entry {value!r}")
            seen.add(value)
    return spec


def parse(body: bytes) -> CreateTask:
    return check_spec(decode_body(body, _decoder, "send a JSON object with at least a title"))


def check_idempotency_key(key: str | None) -> str | None:
    if key is not None and not _KEY.match(key):
        raise invalid(IDEMPOTENCY_HEADER, "must be 1 to 200 printable ASCII characters, not starting with a space")
    return key


def request_digest(spec: CreateTask) -> str:
    """sha256 of the validated request in canonical form (sorted keys, defaults filled in)."""
    return hashlib.sha256(_canonical.encode(spec)).hexdigest()


async def _exists_in_store(services: Services, task_id: str) -> bool:
    return bool(await services.store.load("task", task_id))


async def missing_tasks(services: Services, task_ids: Sequence[str]) -> set[str]:
    """Which of `task_ids` exist nowhere; the read model answers most, the event log settles the rest (lag)."""
    if not task_ids:
        return set()
    known = await readmodel.existing_task_ids(services.pool, task_ids)
    unknown = [task_id for task_id in dict.fromkeys(task_ids) if task_id not in known]
    found = await asyncio.gather(*(_exists_in_store(services, task_id) for task_id in unknown))
    return {task_id for task_id, ok in zip(unknown, found, strict=True) if not ok}


def raise_field_errors(errors: list[FieldError]) -> None:
    if errors:
        raise InvalidInput(f"{errors[0].field}: {errors[0].message}", errors=errors)


async def check_dependencies(services: Services, depends_on: list[str]) -> None:
    """Every dependency must exist."""
    missing = await missing_tasks(services, depends_on)
    raise_field_errors([FieldError(f"$.depends_on[{i}]", f"no task with id {task_id}")
                        for i, task_id in enumerate(depends_on) if task_id in missing])


def task_created(spec: CreateTask, key: str | None, digest: str, default_attempts: int) -> TaskCreated:
    return TaskCreated(
        title=spec.title,
        description=spec.description,
        prompt=spec.prompt,
        capabilities=list(spec.capabilities),
        model=spec.model,
        priority=spec.priority,
        payload=spec.payload,
        depends_on=list(spec.depends_on),
        # The default is written out, so the log says exactly which budget the task ran under.
        max_attempts=spec.max_attempts if spec.max_attempts is not None else default_attempts,
        retry_backoff_s=spec.retry_backoff_s,
        min_vram_mb=spec.min_vram_mb,
        timeout_s=spec.timeout_s,
        idempotency_key=key,
        request_digest=digest,
    )


async def _load_existing(services: Services, task_id: str) -> list[Recorded[Any]]:
    # The append just told us the task exists; a direct get served by a lagging replica may not see it yet.
    for delay in (0.0, 0.05, 0.2, 0.5):
        await asyncio.sleep(delay)
        history = await services.store.load("task", task_id)
        if history:
            return history
    raise Unavailable("the task for this Idempotency-Key exists but could not be read yet; retry the request")


async def replay(services: Services, task_id: str, digest: str) -> Created:
    history = await _load_existing(services, task_id)
    created = history[0].envelope.data
    if not isinstance(created, TaskCreated) or created.request_digest != digest:
        raise Conflict(
            f"{IDEMPOTENCY_HEADER} was already used for task {task_id} with a different request body; "
            "use a new key for a new task"
        )
    view = await services.tasks.get(task_id) or view_from_history(history)
    assert view is not None  # history is non-empty and starts with TaskCreated
    return Created(view, replayed=True)


class Submission(msgspec.Struct, frozen=True):
    """One task about to be created: its id (fixed by an Idempotency-Key), request digest and TaskCreated."""

    task_id: str
    digest: str
    envelope: Envelope[TaskCreated]

    def view(self, seq: int) -> TaskView:
        view = view_from_history([Recorded(seq=seq, envelope=self.envelope)])
        assert view is not None
        return view


def submission(spec: CreateTask, key: str | None, principal: Principal, request_id: str | None,
               now: datetime, default_attempts: int) -> Submission:
    digest = request_digest(spec)
    task_id = idempotent_task_id(principal.subject, key) if key is not None else uuid7()
    envelope = new_envelope(
        task_created(spec, key, digest, default_attempts),
        event_id=uuid7(),
        aggregate_id=task_id,
        occurred_at=now,
        actor=principal.subject,
        correlation_id=request_id,
    )
    return Submission(task_id, digest, envelope)


async def create_task(
    services: Services, principal: Principal, body: bytes, key: str | None, request_id: str | None
) -> Created:
    spec = parse(body)
    key = check_idempotency_key(key)
    await check_dependencies(services, spec.depends_on)
    sub = submission(spec, key, principal, request_id, datetime.now(UTC), services.settings.task_max_attempts)
    try:
        # expected_seq 0: the subject must be empty, so exactly one TaskCreated is ever stored per id.
        seq = await services.store.append([sub.envelope], expected_seq=0, headers=request_headers())
    except ConcurrencyError:
        if key is None:
            raise  # a fresh uuid7 collided: a bug, not a client error
        return await replay(services, sub.task_id, sub.digest)
    return Created(sub.view(seq), replayed=False)
