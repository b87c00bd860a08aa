"""The NATS errors that mean "try again": a server restarting, a stream electing a leader, a reconnect."""

from __future__ import annotations

import asyncio

import nats.errors
from nats.js.errors import NoStreamResponseError, ServiceUnavailableError

# NoStreamResponseError is what nats-py's JetStream publish (and so every KV put, create, update and delete)
# raises where a plain request would raise NoRespondersError: the stream has no leader for a moment.
TRANSIENT = (
    nats.errors.TimeoutError, nats.errors.ConnectionClosedError, nats.errors.NoRespondersError,
    NoStreamResponseError, ServiceUnavailableError, asyncio.TimeoutError)

