"""The sidecar's lifecycle: start (connect, register, heartbeat, consume, obey orders), drain on stop or on the
coordinator's order, deregister."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from importlib import metadata
from pathlib import Path

import msgspec
import psutil
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.kv import KeyValue
from opentelemetry.trace import SpanKind, Status, StatusCode

from agent_sidecar.config import SidecarConfig, load_config
from agent_sidecar.consumer import durable_name, ensure_dispatch_consumer
from agent_sidecar.executors import ExecutionResult, Executor, OnChunk, build_sidecar_executor
from agent_sidecar.hardware import GpuMonitor, ResponseTimes, TokenRate, detect_hardware
from agent_sidecar.kind_config import kind_capabilities
from agent_sidecar.reports import ReportPublisher, task_msg_id, utcnow
from agent_sidecar.task_run import START_REPORT_DELAY_S, TaskRun
from core.ids import uuid7
from core.metrics import SIDECAR_EXECUTION_SECONDS, SIDECAR_TASKS_RUNNING, serve_metrics
from core.messages import (CancelTask, Deregistered, Dispatch, Failed, Heartbeat, Registered, TokenChunk, control_decoder,
                           dispatch_decoder, dispatch_encoder)
from core.runtime import cancel_and_wait, retrying
from core.settings import Settings
from core.store.connect import connect
from core.store.publisher import Publisher
from core.store.pull_reader import ConsumerGone, Delivery, PullReader
from core.store.transient import TRANSIENT
from core.tracing import Tracing, configure_tracing, traceparent, traceparent_in

log = logging.getLogger(__name__)

_heartbeat_encoder = msgspec.json.Encoder()
FINISHED_MEMORY = 10_000


def _version() -> str:
    try:
        return metadata.version("hive")
    except metadata.PackageNotFoundError:
        return ""


class Sidecar:
    """A supervised set of tasks: heartbeat loop, fetch loop, one task per running dispatch."""

    def __init__(
        self,
        settings: Settings,
        config: SidecarConfig,
        *,
        executor: Executor | None = None,
        ack_wait_s: float = 30.0,
        fetch_wait_s: float = 1.0,
        start_report_delay_s: float = START_REPORT_DELAY_S,
        tracing: Tracing | None = None,
    ) -> None:
        self.settings = settings
        # None unless tracing is configured: then each run is an `execution` span in its task's trace.
        self._tracing = tracing
        self.config = config
        self.agent_id = config.agent_id
        self.session_id = uuid7()
        # `executor` replaces the configured main one (tests); [http] and [mcp] executors are added either way.
        self.executor = build_sidecar_executor(config, executor)
        self._ack_wait_s = ack_wait_s
        self._start_report_delay_s = start_report_delay_s
        # How long one fetch waits for work: bounds how long draining waits for the fetch loop to notice.
        self._fetch_wait_s = fetch_wait_s
        self._runs: dict[str, tuple[TaskRun, asyncio.Task[None]]] = {}
        # Recently finished (task, attempt) keys, oldest first: a redelivered dispatch is acked, not re-run.
        self._finished: dict[str, None] = {}
        self._reader: PullReader | None = None
        self._draining = False
        self._tokens = TokenRate()
        self._response_times = ResponseTimes()
        self._probe_error: str | None = None  # the executor's last health probe, for the heartbeat
        self._gpus: GpuMonitor | None = None
        self._nc: NATS | None = None
        self._js: JetStreamContext | None = None
        self._kv: KeyValue | None = None
        self._reports: ReportPublisher | None = None
        self._publisher: Publisher | None = None
        self._background: list[asyncio.Task[None]] = []
        # The one drain (SIGTERM or the coordinator's order); later calls wait for it.
        self._drainer: asyncio.Task[None] | None = None
        self._drain_begun = asyncio.Event()
        self.peak_in_flight = 0

    @property
    def in_flight(self) -> int:
        return len(self._runs)

    @property
    def draining(self) -> bool:
        return self._draining

    async def start(self) -> None:
        """Connect, create the dispatch consumer, heartbeat once, register, then start taking work."""
        try:
            await self._open()
        except BaseException:
            await self._close()
            raise
        log.info("sidecar %s registered (session %s, %d slots)", self.agent_id, self.session_id,
                 self.config.max_concurrency)

    async def _open(self) -> None:
        self._gpus = GpuMonitor()
        psutil.cpu_percent(interval=None)  # primes the counter: the first reading is otherwise 0.0
        self._nc, self._js = await connect(self.settings, f"sidecar-{self.agent_id}")
        js = self._js
        # On a cluster just formed, or electing leaders after losing a node, these time out for a while.
        self._kv = await retrying(lambda: js.key_value(self.settings.heartbeat_bucket), "opening the heartbeat bucket",
                                  only=TRANSIENT)
        self._publisher = Publisher(self._nc, configured_url=self.settings.nats_url,
                                    name=f"hive-sidecar-{self.agent_id}-publisher")
        self._reports = ReportPublisher(self._publisher, self.settings, self.agent_id)
        await retrying(self._ensure_consumer, "creating the dispatch consumer", only=TRANSIENT)
        # Orders (cancel, drain) are core NATS: one sent before this subscription is sent again by the coordinator.
        await self._nc.subscribe(self.settings.control_subject(self.agent_id), cb=self._on_order)
        await retrying(self._beat, "the first heartbeat", only=TRANSIENT)
        await self._reports.publish(self._registration(), f"{self.session_id}:registered")
        self._background = [
            asyncio.create_task(self._heartbeat_loop(), name="sidecar-heartbeat"),
            asyncio.create_task(self._fetch_loop(), name="sidecar-fetch"),
            asyncio.create_task(self._keep_alive_loop(), name="sidecar-keepalive"),
        ]

    async def drain(self, grace_s: float | None = None) -> None:
        """Stop fetching, let in-flight tasks finish within the grace period, abort the rest, deregister.
        A drain already under way (the coordinator's order, an earlier call) is waited for instead."""
        self._begin_drain(grace_s)
        assert self._drainer is not None
        await self._drainer

    def _begin_drain(self, grace_s: float | None = None) -> None:
        if self._drainer is None:
            self._drainer = asyncio.create_task(self._drain(grace_s), name="sidecar-drain")
            self._drain_begun.set()

    async def _drain(self, grace_s: float | None) -> None:
        if self._nc is None or self._reports is None:
            return
        grace = self.config.grace_period_s if grace_s is None else grace_s
        self._draining = True
        if self._reader is not None:
            self._reader.close()  # the fetch loop hands back what its open pulls still deliver, then ends
        if not self._background:
            await self._close()
            return
        heartbeat, fetch, keepalive = self._background
        with contextlib.suppress(Exception):
            await self._beat()
        # The fetch loop hands back what its open pulls still deliver (see quiesce there), then ends.
        await self._stop_task(fetch, 2 * self._fetch_wait_s + 5.0)
        tasks = [task for _run, task in self._runs.values()]
        if tasks:
            log.info("draining: waiting up to %.1fs for %d task(s)", grace, len(tasks))
            await asyncio.wait(tasks, timeout=grace)
        for run, _task in list(self._runs.values()):
            run.abort(f"agent {self.agent_id} shut down: grace period of {grace:g}s exceeded")
        remaining = [task for _run, task in self._runs.values()]
        if remaining:
            # Aborted runs still report (retryable) and ack; give their executors time to clean up.
            await asyncio.wait(remaining, timeout=30.0)
        await self._stop_task(heartbeat, 0.0)
        await self._stop_task(keepalive, 0.0)
        try:
            await self._reports.publish(
                Deregistered(agent_id=self.agent_id, sent_at=utcnow(), session_id=self.session_id),
                f"{self.session_id}:deregistered",
            )
        finally:
            await self._close()
        log.info("sidecar %s deregistered", self.agent_id)

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop` is set, or the coordinator orders a drain (which then leaves the process idle until stopped:
        restarted at once by a supervisor, it would register and take work again)."""
        await self.start()
        try:
            waits = [asyncio.create_task(stop.wait()), asyncio.create_task(self._drain_begun.wait())]
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                await cancel_and_wait(*waits)
        finally:
            await self.drain()
        if not stop.is_set():
            log.info("sidecar %s drained on the coordinator's order: it takes no work until restarted", self.agent_id)
            await stop.wait()

    async def _on_order(self, msg: Msg) -> None:
        try:
            order = control_decoder.decode(msg.data)
        except msgspec.DecodeError as err:
            log.warning("malformed order on %s dropped: %s", msg.subject, err)
            return
        if isinstance(order, CancelTask):
            await self.cancel_run(order.task_id, order.attempt)
        elif order.session_id == self.session_id:  # not a late order meant for an earlier session
            self._begin_drain()

    async def cancel_run(self, task_id: str, attempt: int) -> None:
        """The coordinator's cancel: stop that run (its failure report is recorded as the cancel). A run not begun
        here is reported at once and never started, should its dispatch still come."""
        key = f"{task_id}:{attempt}"
        running = self._runs.get(key)
        if running is not None:
            running[0].abort(f"stopped on agent {self.agent_id}")
            return
        if key in self._finished or self._reports is None:
            return  # reported already (the coordinator is told), or shutting down
        self._remember_finished(key)  # first: a dispatch that arrives while we report is acked, not run
        try:
            await self._reports.publish(
                Failed(agent_id=self.agent_id, sent_at=utcnow(), task_id=task_id, attempt=attempt,
                       error=f"not started on agent {self.agent_id}"),
                task_msg_id(task_id, attempt, "failed"))
        except Exception as err:  # noqa: BLE001 - the coordinator sends the order again
            self._finished.pop(key, None)
            log.warning("could not report the cancel of %s: %s", key, err)

    def _remember_finished(self, key: str) -> None:
        self._finished[key] = None
        if len(self._finished) > FINISHED_MEMORY:
            del self._finished[next(iter(self._finished))]

    def _registration(self) -> Registered:
        assert self._gpus is not None
        config = self.config
        return Registered(
            agent_id=self.agent_id, sent_at=utcnow(), name=config.name, session_id=self.session_id,
            # [http] and [mcp] add their capability (at 1.0 unless [capabilities] says otherwise).
            capabilities={**kind_capabilities(config.http, config.mcp), **config.capabilities},
            models=list(config.models),
            max_concurrency=config.max_concurrency, executor=self.executor.name,
            hardware=detect_hardware(self._gpus), version=_version(),
        )

    def heartbeat(self) -> Heartbeat:
        memory = psutil.virtual_memory()
        return Heartbeat(
            agent_id=self.agent_id, session_id=self.session_id, sent_at=utcnow(), in_flight=self.in_flight,
            max_concurrency=self.config.max_concurrency, cpu_percent=psutil.cpu_percent(interval=None),
            memory_percent=memory.percent, gpus=self._gpus.sample() if self._gpus else [],
            tokens_per_s=self._tokens.average, draining=self._draining,
            response_time_s=self._response_times.average, available=not self._draining and self._probe_error is None,
            error=self._probe_error or "", loaded_models=list(getattr(self.executor, "loaded_models", [])),
        )

    async def _beat(self) -> None:
        assert self._kv is not None
        probe = getattr(self.executor, "probe", None)  # executors with a server behind them (ollama) have one
        if probe is not None:
            self._probe_error = await probe()
        await self._kv.put(self.agent_id, _heartbeat_encoder.encode(self.heartbeat()))

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.heartbeat_interval_s)
            try:
                await self._beat()
            except Exception as err:
                # Missing a beat is survivable; the coordinator allows a window of several.
                log.warning("heartbeat failed: %s", err)

    async def _keep_alive_loop(self) -> None:
        # One loop for all runs (not a timer task per run): a third of ack_wait keeps every one alive.
        while True:
            await asyncio.sleep(self._ack_wait_s / 3)
            for run, _task in list(self._runs.values()):
                await run.keep_alive()

    async def _ensure_consumer(self) -> None:
        assert self._js is not None
        await ensure_dispatch_consumer(self._js, self.settings, self.agent_id, self.config.max_concurrency,
                                       self._ack_wait_s)

    def _wanted(self) -> int:
        # Pulls may ask for a full set of slots at all times: the consumer's max_ack_pending (our slots)
        # stops the server from delivering more than we can run, as a run acks its dispatch only once it
        # is reported. So a busy sidecar sends a pull per half of its slots, not one per task.
        return 0 if self._draining else self.config.max_concurrency

    async def _fetch_loop(self) -> None:
        assert self._nc is not None
        s = self.settings
        while True:
            # Pulls stay open, so a dispatch starts the moment it lands; they expire after fetch_wait_s,
            # which bounds how long a drain waits for the last of them.
            reader = PullReader(self._nc, s.dispatch_stream, durable_name(self.agent_id), want=self._wanted(),
                                configured_url=s.nats_url, name=f"hive-sidecar-{self.agent_id}",
                                expires_s=self._fetch_wait_s, heartbeat_s=self._fetch_wait_s / 2)
            self._reader = reader
            if self._draining:
                reader.close()  # the drain began between two readers: take nothing more
            runner = asyncio.create_task(reader.run(), name="sidecar-dispatch-reader")
            runner.add_done_callback(lambda _: reader.close())
            try:
                while msgs := await reader.take():
                    for msg in msgs:
                        await self._accept(msg)
                    reader.want(self._wanted())
                if self._draining:
                    # Open pulls may still deliver until they expire: whatever comes is handed back.
                    await reader.quiesce(2 * self._fetch_wait_s + 1.0)
                    for msg in await reader.take():
                        await self._accept(msg)
                    return
                runner.result()
            except ConsumerGone as err:
                log.warning("dispatch consumer gone (%s); creating it again", err)
                await self._recreate_consumer()
            except Exception as err:
                # This loop must outlive any one failure: while the sidecar heartbeats, the coordinator
                # keeps placing work on it.
                log.error("reading dispatches failed (%s); starting again in 1s", err, exc_info=True)
                await asyncio.sleep(1.0)
            finally:
                self._reader = None
                await cancel_and_wait(runner)

    async def _recreate_consumer(self) -> None:
        await retrying(self._ensure_consumer, "creating the dispatch consumer")

    async def _accept(self, msg: Delivery) -> None:
        try:
            job = dispatch_decoder.decode(msg.data)
        except msgspec.DecodeError as err:
            log.error("malformed dispatch on %s dropped (term): %s", msg.subject, err)
            with contextlib.suppress(Exception):
                await msg.term()
            return
        run = TaskRun(
            msg, job, agent_id=self.agent_id, executor=self.executor, reports=self._require_reports(),
            start_report_delay_s=self._start_report_delay_s, on_chunk=self._live_publisher(job),
            on_result=self._record,
        )
        if run.key in self._finished:
            with contextlib.suppress(Exception):
                await msg.ack()  # redelivered after its ack was lost: already run and reported
            return
        if self._draining or run.key in self._runs:
            # Draining: hand it back untouched. Duplicate: a redelivery of a task we are still running; the
            # delay keeps it from bouncing straight back (our ack of the running copy removes it anyway).
            with contextlib.suppress(Exception):
                await msg.nak(delay=None if self._draining else self._ack_wait_s)
            return
        if self._tracing is not None:
            task = asyncio.create_task(self._traced(run, traceparent_in(msg.headers)), name=f"task-{run.key}")
        else:
            task = asyncio.create_task(self._supervise(run), name=f"task-{run.key}")
        self._runs[run.key] = (run, task)
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    async def _supervise(self, run: TaskRun) -> None:
        SIDECAR_TASKS_RUNNING.inc()
        started = time.perf_counter()
        try:
            await run.run()
            self._remember_finished(run.key)
        except asyncio.CancelledError:
            raise
        except Exception as err:
            # Unacked: JetStream redelivers after ack_wait, and reports carry idempotent msg ids.
            log.error("task %s could not be reported (%s); it will be redelivered", run.key, err)
        finally:
            SIDECAR_TASKS_RUNNING.dec()
            elapsed = time.perf_counter() - started
            SIDECAR_EXECUTION_SECONDS.labels(run.outcome).observe(elapsed)
            if run.outcome != "aborted":
                self._response_times.record(elapsed)
            self._runs.pop(run.key, None)

    async def _traced(self, run: TaskRun, parent: str | None) -> None:
        """`_supervise` inside an `execution` span, a child of the placement named in the dispatch's headers;
        the final report carries the span on to the coordinator's completion."""
        assert self._tracing is not None
        job = run.job
        span = self._tracing.start("execution", parent, kind=SpanKind.CONSUMER, attributes={
            "hive.task_id": job.task_id, "hive.attempt": job.attempt, "hive.agent_id": self.agent_id,
            "hive.executor": self.executor.name})
        run.traceparent = traceparent(span)
        try:
            await self._supervise(run)
        finally:
            span.set_attribute("hive.outcome", run.outcome)
            if run.outcome != "completed":
                span.set_status(Status(StatusCode.ERROR, run.outcome))
            span.end()

    def _record(self, result: ExecutionResult) -> None:
        self._tokens.record(result.metrics)

    def _live_publisher(self, job: Dispatch) -> OnChunk:
        nc, subject = self._nc, f"{self.settings.prefix}.live.task.{job.task_id}"
        index = itertools.count()

        async def publish(chunk: str) -> None:
            # Live tokens are best effort (core NATS, not persisted): a slow or absent reader never blocks the
            # task. The final output is in the completion report, so the log records it exactly once.
            if nc is not None and not nc.is_closed:
                payload = dispatch_encoder.encode(TokenChunk(attempt=job.attempt, index=next(index), text=chunk))
                with contextlib.suppress(Exception):
                    await nc.publish(subject, payload)

        return publish

    def _require_reports(self) -> ReportPublisher:
        assert self._reports is not None, "start() first"
        return self._reports

    async def _stop_task(self, task: asyncio.Task[None], wait_s: float) -> None:
        if wait_s > 0:
            await asyncio.wait([task], timeout=wait_s)
        await cancel_and_wait(task)

    async def _close(self) -> None:
        for task in self._background:
            if not task.done():
                await self._stop_task(task, 0.0)
        if self._gpus is not None:
            self._gpus.close()
        if self._publisher is not None:
            await self._publisher.close()
        if self._nc is not None and not self._nc.is_closed:
            # close, not drain: every publish that matters was already acknowledged, and drain would wait
            # on the pull subscription's undelivered buffer.
            with contextlib.suppress(Exception):
                await self._nc.close()
        self._nc = None


async def run_sidecar_with_config(settings: Settings, config: SidecarConfig, stop: asyncio.Event) -> None:
    """Run one sidecar until `stop` is set, then drain (the dev stack calls this with default_dev_config())."""
    tracing = configure_tracing(settings, "sidecar")
    try:
        await Sidecar(settings, config, tracing=tracing).run(stop)
    finally:
        if tracing is not None:
            tracing.shutdown()


async def run_sidecar(settings: Settings, config_path: Path, stop: asyncio.Event) -> None:
    """The `hive sidecar --config PATH` entry point."""
    serve_metrics(settings)
    await run_sidecar_with_config(settings, load_config(config_path), stop)
