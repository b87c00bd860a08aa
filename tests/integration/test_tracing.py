"""One trace per task, across services: HTTP request (gateway) → placement (coordinator) → execution (sidecar)
→ completion (coordinator), the context carried in NATS headers. All three run in this process, each with its
own tracer provider (service.name) exporting to one in-memory exporter."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import msgspec
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from agent_sidecar.config import default_dev_config
from agent_sidecar.service import Sidecar
from core.coordinator.service import Coordinator
from core.dev.ports import free_port
from core.settings import Settings
from core.store.connect import connect
from core.tracing import Tracing, tracing_with
from tests.helpers import wait_until
from tests.integration.served import served
from tests.integration.test_gateway_support import auth

CLIENT_TRACE = "0af7651916cd43dd8448eb211c80319c"
CLIENT_SPAN = "b7ad6b7169203331"


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
async def traced(settings: Settings, exporter: InMemorySpanExporter) -> AsyncIterator[Tracing]:
    """Coordinator and sidecar running with tracing; yields the gateway's Tracing for served()."""
    tracings = {name: tracing_with(name, exporter, batch=False) for name in ("gateway", "coordinator", "sidecar")}
    nc, js = await connect(settings, "coordinator")
    coordinator = Coordinator(settings, nc, js, tracings["coordinator"])
    await coordinator.start()
    sidecar = Sidecar(settings, default_dev_config(f"traced-{uuid.uuid4().hex[:8]}"), tracing=tracings["sidecar"])
    await sidecar.start()
    try:
        yield tracings["gateway"]
    finally:
        await sidecar.drain(grace_s=0)
        await coordinator.stop()
        await nc.close()
        for tracing in tracings.values():
            tracing.shutdown()


def _one(spans: list[ReadableSpan], name: str, task_id: str | None = None) -> ReadableSpan:
    found = [s for s in spans
             if s.name == name and (task_id is None or (s.attributes or {}).get("hive.task_id") == task_id)]
    assert len(found) == 1, (name, [s.name for s in spans])
    return found[0]


async def test_one_trace_from_the_request_to_the_completion(
    settings: Settings, exporter: InMemorySpanExporter, traced: Tracing
) -> None:
    settings = msgspec.structs.replace(settings, gateway_port=free_port())
    async with served(settings, asyncio.Event(), traced) as (client, _):
        headers = {**auth(settings), "traceparent": f"00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"}
        resp = await client.post("/api/tasks", json={"title": "traced", "capabilities": ["echo"], "prompt": "hi"},
                                 headers=headers)
        assert resp.status_code == 201, resp.text
        task_id = resp.json()["id"]

        async def completed() -> bool:
            got = await client.get(f"/api/tasks/{task_id}", headers=auth(settings))
            return got.status_code == 200 and got.json()["status"] == "completed"

        await wait_until(completed, what=f"task {task_id} completed")
        # The completion span ends once TaskCompleted is stored, which a reader may see a moment before.
        await wait_until(lambda: any(s.name == "completion" for s in exporter.get_finished_spans()),
                         what="the completion span")

    spans = list(exporter.get_finished_spans())
    http = _one(spans, "POST /api/tasks")
    placement = _one(spans, "placement", task_id)
    execution = _one(spans, "execution", task_id)
    completion = _one(spans, "completion", task_id)
    chain = [http, placement, execution, completion]
    services = [s.resource.attributes["service.name"] for s in chain]
    assert services == ["gateway", "coordinator", "sidecar", "coordinator"]
    assert {_ids(s)[0] for s in chain} == {int(CLIENT_TRACE, 16)}
    # Each is the child of the one before; the request is the child of the client's span.
    parents = [s.parent.span_id if s.parent else None for s in chain]
    assert parents == [int(CLIENT_SPAN, 16), *(_ids(s)[1] for s in chain[:-1])]
    assert http.kind is SpanKind.SERVER and (http.attributes or {})["http.response.status_code"] == 201
    assert (execution.attributes or {})["hive.outcome"] == "completed"
    assert (completion.attributes or {})["hive.outcome"] == "completed"
    assert (placement.attributes or {})["hive.agent_id"] == (execution.attributes or {})["hive.agent_id"]


async def test_a_batch_shares_the_requests_trace(
    settings: Settings, exporter: InMemorySpanExporter, traced: Tracing
) -> None:
    settings = msgspec.structs.replace(settings, gateway_port=free_port())
    async with served(settings, asyncio.Event(), traced) as (client, _):
        body = {"tasks": [{"title": f"t{i}", "capabilities": ["echo"], "prompt": str(i)} for i in range(3)]}
        resp = await client.post("/api/tasks/batch", json=body, headers=auth(settings))
        assert resp.status_code == 201, resp.text
        ids = [item["id"] for item in resp.json()["items"]]

        def completions() -> int:
            return sum(1 for s in exporter.get_finished_spans() if s.name == "completion")

        await wait_until(lambda: completions() == len(ids), what="a completion span per task")

    spans = list(exporter.get_finished_spans())
    http = _one(spans, "POST /api/tasks/batch")
    for task_id in ids:
        chain = [http, *(_one(spans, name, task_id) for name in ("placement", "execution", "completion"))]
        assert {_ids(s)[0] for s in chain} == {_ids(http)[0]}
        assert [s.parent.span_id if s.parent else None for s in chain[1:]] == [_ids(s)[1] for s in chain[:-1]]


def _ids(span: ReadableSpan) -> tuple[int, int]:
    assert span.context is not None
    return span.context.trace_id, span.context.span_id
