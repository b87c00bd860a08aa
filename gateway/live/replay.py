"""Reads what a client missed on one topic: the stored events after its last sequence, up to a bound."""

from __future__ import annotations

import logging
from contextlib import suppress

from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

log = logging.getLogger(__name__)

FETCH = 500


class TooFarBehind(Exception):
    """More events to replay than a client may ask for at once."""

    def __init__(self, pending: int, limit: int) -> None:
        super().__init__(f"{pending} events to replay, more than the {limit} a subscribe may replay; read the "
                         "current state over HTTP, then subscribe without after_seq (or with a later one)")


async def replay(
    js: JetStreamContext, stream: str, subject: str, after_seq: int, upto: int, *, limit: int, timeout_s: float = 10.0,
) -> list[tuple[int, bytes]]:
    """(seq, event) on `subject` with after_seq < seq <= upto, in order; TooFarBehind beyond `limit`."""
    if after_seq >= upto:
        return []
    config = ConsumerConfig(
        deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=after_seq + 1, ack_policy=AckPolicy.NONE,
        filter_subject=subject, inactive_threshold=30.0, mem_storage=True, num_replicas=1,
    )
    sub = await js.pull_subscribe(subject, stream=stream, config=config)
    name = None
    try:
        info = await sub.consumer_info()
        name, pending = info.name, info.num_pending or 0
        if pending > limit:
            raise TooFarBehind(pending, limit)
        out: list[tuple[int, bytes]] = []
        while pending > 0:
            for msg in await sub.fetch(min(FETCH, pending), timeout=timeout_s):
                pending -= 1
                seq = msg.metadata.sequence.stream
                if seq > upto:  # appended after the replay began: the live path delivers it
                    return out
                out.append((seq, msg.data))
        return out
    finally:
        with suppress(Exception):  # best effort: inactive_threshold removes the consumer anyway
            await sub.unsubscribe()
            if name is not None:
                await js.delete_consumer(stream, name)
