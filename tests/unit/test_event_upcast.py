"""Upcasters: chained from old tags to the current one, applied by decode_envelope, loops refused."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from core.events.codec import UnknownEventType, decode_envelope
from core.events.task import TaskCreated
from core.events.upcast import registered, upcast


def _raw(tag: str, data: dict[str, Any]) -> bytes:
    return msgspec.json.encode({"event_id": "e", "type": tag, "aggregate": "task", "aggregate_id": "t",
                                "occurred_at": "2030-01-01T00:00:00Z", "actor": "a", "data": data})


def _rename(old: str, new: str) -> Any:
    def fn(data: dict[str, Any]) -> dict[str, Any]:
        data[new] = data.pop(old)
        return data
    return fn


def test_old_versions_chain_up_to_the_current_tag() -> None:
    with registered("task.created.v-1", "task.created.v0", _rename("label", "name")), \
            registered("task.created.v0", "task.created.v1", _rename("name", "title")):
        env = decode_envelope(_raw("task.created.v-1", {"label": "old", "priority": 3}))
        assert env.type == "task.created.v1"
        assert env.data == TaskCreated(title="old", priority=3)
        assert upcast("task.created.v1", {"title": "x"}) == ("task.created.v1", {"title": "x"})
    with pytest.raises(UnknownEventType):
        decode_envelope(_raw("task.created.v0", {"name": "old"}))


def test_an_upcast_that_does_not_fit_the_current_version_is_a_validation_error() -> None:
    with registered("task.created.v0", "task.created.v1", lambda data: data):
        with pytest.raises(msgspec.ValidationError):
            decode_envelope(_raw("task.created.v0", {"name": "no title"}))


def test_a_loop_of_upcasters_is_refused() -> None:
    with registered("x.v1", "x.v2", lambda d: d), registered("x.v2", "x.v1", lambda d: d):
        with pytest.raises(RuntimeError, match="loop"):
            upcast("x.v1", {})
