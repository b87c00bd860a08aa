"""What one decision of the execution driver may append (pure): every event must fit in one NATS message, so
a node whose output is too big fails, and the execution with it."""

from __future__ import annotations

import msgspec

from core.events.envelope import EventData
from core.events.execution import ExecutionFailed, NodeCompleted, NodeFailed, NodeStarted

# An event is one NATS message (1 MiB by default, headers included): a node whose output is bigger fails.
MAX_EVENT_BYTES = 900 * 1024
_encoder = msgspec.json.Encoder()


def fit(events: list[EventData]) -> tuple[list[EventData], bool]:
    """The events up to the first one too big to store; in its place its node fails and the execution fails,
    so nothing planned after it (tasks included) goes on. True when that happened."""
    for i, event in enumerate(events):
        size = len(_encoder.encode(event))
        if size <= MAX_EVENT_BYTES:
            continue
        if isinstance(event, NodeStarted | NodeCompleted):
            what = "inputs take" if isinstance(event, NodeStarted) else "output takes"
            error = f"node {event.node!r}: its {what} {size} bytes, over the {MAX_EVENT_BYTES} an event may hold"
            ended: list[EventData] = [NodeFailed(node=event.node, error=error),
                                      ExecutionFailed(error=error, node=event.node)]
        else:
            ended = [ExecutionFailed(error=f"{event.TYPE} ({size} bytes) is over the {MAX_EVENT_BYTES} bytes an "
                                           "event may hold")]
        return [*events[:i], *ended], True
    return events, False


def started_task_ids(events: list[EventData]) -> set[str]:
    """The tasks the node_started events of a decision name: only those may be created with it."""
    return {t for e in events if isinstance(e, NodeStarted) for t in e.task_ids}
