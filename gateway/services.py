"""The long-lived clients a gateway process shares between requests (built in the app's lifespan)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg
from nats.aio.client import Client as NATS
from litestar.datastructures import State

from core.settings import Settings
from core.store.event_store import EventStore


@dataclass(frozen=True)
class Services:
    settings: Settings
    nc: NATS
    store: EventStore
    pool: asyncpg.Pool[Any]


def services_of(state: State) -> Services:
    """Dependency provider: handlers declare `services: Services`."""
    services = state["services"]
    assert isinstance(services, Services)
    return services
