"""Publishes reports to the agent's own report subjects, deduplicated by Nats-Msg-Id and retried."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import msgspec

from core.messages import Report
from core.settings import Settings
from core.store.publisher import Publisher
from core.store.transient import TRANSIENT
from core.tracing import TRACEPARENT

log = logging.getLogger(__name__)

_encoder = msgspec.json.Encoder()


def utcnow() -> datetime:
    return datetime.now(UTC)


def report_kind(report: Report) -> str:
    tag = type(report).__struct_config__.tag
    assert isinstance(tag, str)
    return tag


def task_msg_id(task_id: str, attempt: int, kind: str) -> str:
    """Same task, attempt and kind: same id, so a redelivered dispatch's repeated report is stored once."""
    return f"{task_id}:{attempt}:{kind}"


class ReportPublisher:
    def __init__(self, publisher: Publisher, settings: Settings, agent_id: str, *, attempts: int = 8) -> None:
        self._publisher = publisher
        self._settings = settings
        self._agent_id = agent_id
        self._attempts = attempts

    async def publish(self, report: Report, msg_id: str, traceparent: str | None = None) -> None:
        """Returns once JetStream has stored the report (or had it already); raises after repeated failures.
        `traceparent` (the execution span, when tracing) goes along in a header."""
        subject = self._settings.report_subject(self._agent_id, report_kind(report))
        payload = _encoder.encode(report)
        headers = {"Nats-Msg-Id": msg_id}
        if traceparent is not None:
            headers[TRACEPARENT] = traceparent
        delay = 0.1
        for attempt in range(1, self._attempts + 1):
            try:
                await self._publisher.publish(subject, payload, headers)
                return
            except TRANSIENT as err:
                if attempt == self._attempts:
                    raise
                log.warning("publishing %s failed (%s); retry %d in %.1fs", msg_id, err, attempt, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
