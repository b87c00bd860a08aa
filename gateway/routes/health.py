"""/health (the process answers) and /ready (NATS connected and PostgreSQL answering); no auth."""

from __future__ import annotations

import asyncio

from litestar import get

from gateway import readmodel
from gateway.errors import Unavailable
from gateway.schemas import Health
from gateway.services import Services, ServicesDep

READY_TIMEOUT_S = 2.0


@get("/health", sync_to_thread=False)
def health() -> Health:
    return Health(status="ok")


async def _postgres(services: Services) -> str:
    try:
        await asyncio.wait_for(readmodel.ping(services.pool), READY_TIMEOUT_S)
    except Exception as err:  # any failure means "not ready"; the reason goes in the answer
        return f"unavailable: {type(err).__name__}: {err}"
    return "ok"


@get("/ready")
async def ready(services: ServicesDep) -> Health:
    checks = {
        "nats": "ok" if services.nc.is_connected else "unavailable: not connected",
        "postgres": await _postgres(services),
    }
    if any(value != "ok" for value in checks.values()):
        raise Unavailable("not ready: " + "; ".join(f"{k} {v}" for k, v in checks.items() if v != "ok"), checks=checks)
    return Health(status="ok", checks=checks)
