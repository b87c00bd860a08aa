"""Builds the Litestar application: routes, auth, error shape, and the lifespan that opens NATS and PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from litestar import Litestar, Router
from litestar.di import Provide
from litestar.middleware.base import DefineMiddleware

from core.settings import Settings
from core.store.connect import connect
from core.store.event_store import EventStore
from core.tracing import Tracing
from gateway.auth import Authenticator, BearerAuthMiddleware
from gateway.db import create_pool
from gateway.errors import EXCEPTION_HANDLERS
from gateway.rate_limit import RateLimiter
from gateway.read_your_writes import MinSeqMiddleware
from gateway.request_id import add_request_id
from gateway.request_metrics import RequestMetricsMiddleware
from gateway.tracing import TracingMiddleware
from gateway import readmodel
from gateway.live.hub import Hub
from gateway.openapi import BEARER, add_request_schemas, openapi_config
from gateway.workflow_openapi import add_workflow_schemas
from gateway.routes import agents, alerts, audit, executions, health, live, metrics, status, tasks, workflows
from gateway.schemas import MAX_BODY_BYTES
from gateway.services import Services, services_of
from projections.migrate import apply_migrations

log = logging.getLogger(__name__)


def _lifespan(settings: Settings, authenticator: Authenticator) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        nc, js = await connect(settings, "hive-gateway")
        try:
            pool = await create_pool(settings)
            try:
                # Migrations here too, so /ready and reads work before the projections service first runs.
                async with pool.acquire() as conn:
                    await apply_migrations(conn, settings.db_schema)
                hub = Hub(settings, nc, js, status=lambda: readmodel.cluster_counts(pool),
                          status_interval_s=settings.ws_status_interval_s)
                app.state["services"] = Services(settings=settings, nc=nc, store=EventStore(nc, js, settings), pool=pool,
                                                 hub=hub, authenticator=authenticator)
                log.info("gateway ready on schema %s, prefix %s", settings.db_schema, settings.prefix)
                try:
                    yield
                finally:
                    await hub.close()
            finally:
                await pool.close()
        finally:
            if not nc.is_closed:
                await nc.drain()

    return lifespan


def create_app(settings: Settings, tracing: Tracing | None = None) -> Litestar:
    authenticator = Authenticator.from_settings(settings)
    api = Router(
        path="/api",
        security=[{BEARER: []}],
        route_handlers=[
            tasks.post_task, tasks.post_task_batch, tasks.list_tasks, tasks.get_task, tasks.task_events,
            tasks.cancel_task, tasks.assign_task, tasks.retry_task,
            agents.list_agents, agents.get_agent, agents.drain_agent, alerts.list_alerts,
            status.cluster, status.agents, status.performance,
            audit.audit, audit.agent_events, audit.execution_events,
            workflows.create_workflow, workflows.list_workflows, workflows.get_workflow, workflows.update_workflow,
            workflows.delete_workflow, workflows.execute_workflow,
            executions.list_executions, executions.get_execution, executions.cancel_execution,
            executions.resume_execution,
        ],
        middleware=[
            DefineMiddleware(BearerAuthMiddleware, authenticator=authenticator,
                             limiter=RateLimiter(settings.rate_limits)),
            MinSeqMiddleware,
        ],
    )
    app = Litestar(
        route_handlers=[api, health.health, health.ready, metrics.metrics, live.ws],
        # Tracing, when configured: a span per request, whose traceparent the events it appends carry.
        middleware=[RequestMetricsMiddleware,
                    *([DefineMiddleware(TracingMiddleware, tracing=tracing)] if tracing is not None else [])],
        dependencies={"services": Provide(services_of, sync_to_thread=False)},
        exception_handlers=EXCEPTION_HANDLERS,
        # A before_send hook, not a middleware: error responses made by Litestar's outer handler get the id too.
        before_send=[add_request_id],
        lifespan=[_lifespan(settings, authenticator)],
        request_max_body_size=MAX_BODY_BYTES,
        openapi_config=openapi_config(),
        debug=False,
    )
    add_request_schemas(app)
    add_workflow_schemas(app)
    return app
