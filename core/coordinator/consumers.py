"""The coordinator's durable consumer of agents' reports, created (or brought up to date) at start."""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig

from core.settings import Settings

DURABLE = "coordinator"


def reports_consumer_config(settings: Settings) -> ConsumerConfig:
    return ConsumerConfig(
        durable_name=DURABLE,
        filter_subject=f"{settings.prefix}.reports.>",
        # A work-queue stream allows only explicit acks: one per report, sent once its batch is recorded.
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=30.0,
        max_ack_pending=20_000,
        max_deliver=-1,
    )


async def ensure_reports_consumer(js: JetStreamContext, settings: Settings) -> None:
    await js.add_consumer(settings.reports_stream, reports_consumer_config(settings))
