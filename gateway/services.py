"""The long-lived clients a gateway process shares between requests (built in the app's lifespan)."""

from __future__ import annotations

from typing import Any, TypeAlias

import asyncpg
from litestar import Request
from litestar.di import NamedDependency
from nats.aio.client import Client as NATS

from core.settings import Settings
from core.store.event_store import EventStore
from gateway.auth import Authenticator
from gateway.live.hub import Hub
from gateway.read_your_writes import ReadModelPosition
from gateway.task_loader import TaskLoader


class Services:
    # A plain class, not a dataclass: Litestar's signature model must treat it as opaque.
    __slots__ = ("settings", "nc", "store", "pool", "tasks", "hub", "authenticator", "read_position")

    def __init__(self, settings: Settings, nc: NATS, store: EventStore, pool: asyncpg.Pool[Any], hub: Hub,
                 authenticator: Authenticator) -> None:
        self.settings = settings
        self.nc = nc
        self.store = store
        self.pool = pool
        self.tasks = TaskLoader(pool)
        self.hub = hub
        self.authenticator = authenticator
        self.read_position = ReadModelPosition(pool)


def services_of(request: Request[Any, Any, Any]) -> Services:
    """Dependency provider: handlers declare `services: Services`.

    It takes the request, not `state`: Litestar builds a fresh State (with its own lock) to inject `state`.
    """
    services = request.app.state["services"]
    assert isinstance(services, Services)
    return services


# How handlers ask for the services: `services: ServicesDep`.
ServicesDep: TypeAlias = NamedDependency[Services]
