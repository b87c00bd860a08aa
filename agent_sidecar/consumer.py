"""The agent's durable pull consumer on its dispatch subject, created once at start."""

from __future__ import annotations

import logging

from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import BadRequestError

from core.settings import Settings

log = logging.getLogger(__name__)


def durable_name(agent_id: str) -> str:
    return f"agent-{agent_id}"


def dispatch_consumer_config(settings: Settings, agent_id: str, max_concurrency: int, ack_wait_s: float) -> ConsumerConfig:
    return ConsumerConfig(
        # A name as well: nats-py then creates it on $JS.API.CONSUMER.CREATE.<stream>.<name>.<filter>, and the
        # server checks the filter against that subject, so per-agent permissions can pin it (nats-auth.conf).
        name=durable_name(agent_id),
        durable_name=durable_name(agent_id),
        filter_subject=settings.dispatch_subject(agent_id),
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.EXPLICIT,
        # The server never hands us more unfinished dispatches than we have slots (a second bound to ours).
        max_ack_pending=max_concurrency,
        ack_wait=ack_wait_s,
    )


async def ensure_dispatch_consumer(
    js: JetStreamContext, settings: Settings, agent_id: str, max_concurrency: int, ack_wait_s: float
) -> None:
    """Create or update the durable consumer (it survives restarts, so unacked dispatches are redelivered)."""
    config = dispatch_consumer_config(settings, agent_id, max_concurrency, ack_wait_s)
    try:
        await js.add_consumer(settings.dispatch_stream, config)
    except BadRequestError as err:
        # An existing consumer with a config the server will not update in place (e.g. an older filter):
        # recreate it. Its unacked messages stay in the work-queue stream and are delivered again.
        log.warning("recreating dispatch consumer %s: %s", config.durable_name, err.description)
        await js.delete_consumer(settings.dispatch_stream, durable_name(agent_id))
        await js.add_consumer(settings.dispatch_stream, config)
