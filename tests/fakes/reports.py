"""Reads reports off the reports stream the way the coordinator would (a pull consumer that acks)."""

from __future__ import annotations

from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext

from core.messages import AnyReport, report_decoder
from core.settings import Settings


class ReportReader:
    """Accumulates every report published under `<prefix>.reports.>` in stream order."""

    def __init__(self, js: JetStreamContext, settings: Settings) -> None:
        self._js = js
        self._settings = settings
        self._sub: JetStreamContext.PullSubscription | None = None
        self.reports: list[AnyReport] = []
        self.subjects: list[str] = []
        self.msg_ids: list[str] = []

    async def poll(self) -> list[AnyReport]:
        """Fetch whatever has arrived (waiting briefly), returning all reports seen so far."""
        if self._sub is None:
            self._sub = await self._js.pull_subscribe(
                # Durable: an ephemeral consumer would vanish while a test is busy elsewhere for a few seconds.
                f"{self._settings.prefix}.reports.>", durable="test-report-reader", stream=self._settings.reports_stream
            )
        try:
            msgs = await self._sub.fetch(batch=100, timeout=0.2)
        except (NatsTimeoutError, TimeoutError):
            return self.reports
        for msg in msgs:
            self.reports.append(report_decoder.decode(msg.data))
            self.subjects.append(msg.subject)
            self.msg_ids.append((msg.headers or {}).get("Nats-Msg-Id", ""))
            await msg.ack()
        return self.reports

    def of_kind(self, kind: str) -> list[AnyReport]:
        return [r for r in self.reports if type(r).__struct_config__.tag == kind]
