"""Wires the coordinator: fold the log; once it holds the leader lease, schedule, handle reports and watch
heartbeats until stopped (a standby keeps folding, ready to take over)."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any

import msgspec
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from core.coordinator.alerts import AlertMonitor
from core.coordinator.breakers import Breakers
from core.coordinator.consumers import DURABLE, ensure_reports_consumer
from core.coordinator.controls import Controls
from core.coordinator.decisions import Decisions
from core.coordinator.executions import ExecutionDriver
from core.coordinator.fleet import Fleet
from core.coordinator.fleet_metrics import FleetMetrics
from core.coordinator.lease import Lease
from core.coordinator.liveness import Liveness
from core.coordinator.reports import ReportHandler
from core.coordinator.scheduler import Scheduler
from core.coordinator.tracing import CoordinatorTracing
from core.coordinator.writer import Writer
from core.events.codec import decode_envelope
from core.events.envelope import Recorded
from core.messages import Deregistered, Registered, heartbeat_decoder, report_decoder
from core.ids import uuid7
from core.metrics import COORDINATOR_LEADER, serve_metrics
from core.runtime import cancel_and_wait, retrying
from core.settings import Settings, retry_policy
from core.store.connect import connect
from core.store.event_store import EventStore
from core.store.publisher import Publisher
from core.store.pull_reader import ConsumerGone, Delivery, PullReader
from core.store.reader import follow
from core.store.streams import watch_bucket
from core.store.transient import TRANSIENT
from core.tracing import Tracing, configure_tracing

log = logging.getLogger(__name__)

REPORT_BATCH = 256
RACE_RETRIES = 10
FOLD_BATCH = 10_000
METRICS_INTERVAL_S = 1.0


class Coordinator:
    def __init__(self, settings: Settings, nc: NATS, js: JetStreamContext, tracing: Tracing | None = None) -> None:
        # None unless tracing is configured: then placement and completion spans join the tasks' traces.
        self.trace = CoordinatorTracing(tracing) if tracing is not None else None
        self.settings = settings
        self.nc, self.js = nc, js
        self.fleet = Fleet(settings.priority_aging_s)
        self.decisions = Decisions()
        self.lease = Lease(js, settings, holder=f"{socket.gethostname()}-{os.getpid()}-{uuid7()[-8:]}")
        self.publisher = Publisher(nc, configured_url=settings.nats_url, name="hive-coordinator-publisher")
        # The fold feeds the store each event's digest (see _on_headers), so appends chain without a read.
        self.store = EventStore(nc, js, settings, self.publisher)
        self.writer = Writer(self.store, self.publisher, settings, self.decisions, may_write=self.lease.valid)
        policy = retry_policy(settings)
        self.controls = Controls(self.fleet, self.decisions, nc, settings, policy)
        self.liveness = Liveness(self.fleet, self.decisions, settings.agent_lost_after_s)
        self.breakers = Breakers(self.fleet, self.decisions, settings.breaker_failures, settings.breaker_cooldown_s)
        self.scheduler = Scheduler(self.fleet, self.decisions, self.writer, self.controls, self.trace,
                                   self.liveness, self.breakers)
        self.reports = ReportHandler(self.fleet, self.decisions, self.writer, policy)
        self.executions = ExecutionDriver(self.fleet, self.decisions, self.writer,
                                          max_failures=settings.execution_max_failures,
                                          public_url=settings.gateway_url)
        self.caught_up = asyncio.Event()
        # Set while the fold has reached _target (the stream's end when it was last asked).
        self._target = 0
        self._reached = asyncio.Event()
        self.metrics = FleetMetrics()
        self.alerts = AlertMonitor(settings, self.fleet, self.decisions, self.writer, js)
        self._tasks: list[asyncio.Task[Any]] = []

    async def start(self) -> None:
        """Fold the log, wait for the leader lease (a standby waits here, folding on), take over, run."""
        target = await self._last_seq()
        fold = asyncio.create_task(self._fold(target), name="fold")
        self._tasks.append(fold)
        await self._wait_caught_up(fold)
        log.info("caught up with the log at seq %d: %d tasks, %d agents",
                 self.fleet.applied_seq, len(self.fleet.tasks), len(self.fleet.agents))
        await self.lease.acquire()
        # Whatever the last leader appended up to its end must be folded before deciding anything.
        await self._catch_up(fold)
        self.scheduler.take_over()
        self.metrics.forget_history(self.fleet)
        COORDINATOR_LEADER.set(1)
        self._tasks += [
            asyncio.create_task(self.lease.hold(), name="lease"),
            asyncio.create_task(self.liveness.run(self.scheduler.poke, lambda: datetime.now(UTC)), name="liveness"),
            asyncio.create_task(self._refresh_metrics(), name="metrics"),
            asyncio.create_task(self.scheduler.run(), name="scheduler"),
            asyncio.create_task(self.controls.run(self.scheduler.poke), name="controls"),
            asyncio.create_task(self._consume_reports(), name="reports"),
            asyncio.create_task(self._watch_heartbeats(), name="heartbeats"),
            asyncio.create_task(self.alerts.run(), name="alerts"),
            asyncio.create_task(self.executions.run(), name="executions"),
        ]

    async def _catch_up(self, fold: asyncio.Task[Any]) -> None:
        self._target = await self._last_seq()
        if self.fleet.applied_seq >= self._target:
            return
        self._reached.clear()
        await self._wait_caught_up(fold, self._reached)
        log.info("took over at seq %d", self.fleet.applied_seq)

    async def _last_seq(self) -> int:
        info = await retrying(lambda: self.js.stream_info(self.settings.events_stream), "reading the log's end",
                              only=TRANSIENT)
        return int(info.state.last_seq)

    async def _wait_caught_up(self, fold: asyncio.Task[Any], event: asyncio.Event | None = None) -> None:
        waiter = asyncio.create_task((event or self.caught_up).wait())
        await asyncio.wait({waiter, fold}, return_when=asyncio.FIRST_COMPLETED)
        if fold.done():
            waiter.cancel()
            fold.result()  # re-raise why the fold died

    async def _fold(self, target: int) -> None:
        if target == 0:
            self.caught_up.set()

        def apply(batch: list[tuple[int, bytes]]) -> None:
            for seq, data in batch:
                self._apply(seq, data)
            if not self.caught_up.is_set() and self.fleet.applied_seq >= target:
                self.caught_up.set()
            if self._target and not self._reached.is_set() and self.fleet.applied_seq >= self._target:
                self._reached.set()

        s = self.settings
        await follow(self.nc, self.js, s.events_stream, f"{s.prefix}.events.>", applied=lambda: self.fleet.applied_seq,
                     apply=apply, take=FOLD_BATCH, configured_url=s.nats_url, name="hive-coordinator-fold",
                     on_headers=self._on_headers if self.trace is not None else self.store.heads.note)

    def _on_headers(self, seq: int, block: bytes) -> None:
        self.store.heads.note(seq, block)
        if self.trace is not None:
            self.trace.on_headers(seq, block)

    def _apply(self, seq: int, data: bytes) -> None:
        if seq <= self.fleet.applied_seq:
            return
        try:
            envelope = decode_envelope(data)
        except msgspec.ValidationError as err:
            log.error("event %d cannot be decoded (%s): skipped", seq, err)
            self.fleet.applied_seq = seq
            return
        rec = Recorded(seq=seq, envelope=envelope)
        self.store.heads.seen(envelope.aggregate_id, seq)
        self.fleet.apply(rec)
        self.alerts.observe(rec)
        self.executions.observe(rec)
        if self.trace is not None:
            self.trace.folded(seq, envelope)
        self.decisions.seen(envelope)
        if self.caught_up.is_set():
            self.scheduler.note(envelope)

    async def _consume_reports(self) -> None:
        s = self.settings
        while True:
            await self._ensure_reports_consumer()
            reader = PullReader(self.nc, s.reports_stream, DURABLE, want=2 * REPORT_BATCH, configured_url=s.nats_url,
                                name="hive-coordinator-reports")
            runner = asyncio.create_task(reader.run(), name="reports-reader")
            runner.add_done_callback(lambda _: reader.close())
            try:
                while msgs := await reader.take(REPORT_BATCH):
                    reader.want(2 * REPORT_BATCH)  # the next reports come in while these are recorded
                    if self.trace is None:
                        await self._handle_reports(msgs)
                    else:
                        await self.trace.completions(msgs, self._handle_reports)
                    for msg in msgs:  # only now: every report in the batch is recorded
                        await msg.ack()
                runner.result()
            except ConsumerGone as err:
                log.warning("reports consumer gone (%s); creating it again", err)
            finally:
                await cancel_and_wait(runner)

    async def _ensure_reports_consumer(self) -> None:
        # After 20 tries the loop dies, and the process exits to be restarted.
        await retrying(lambda: ensure_reports_consumer(self.js, self.settings), "creating the reports consumer",
                       attempts=20)

    async def _handle_reports(self, msgs: list[Delivery]) -> None:
        # Agent reports one by one (rare); task reports as one batch, each task's in arrival order.
        by_task: dict[str, list[Any]] = {}
        for msg in msgs:
            report = self._decode_report(msg)
            if report is None:
                continue  # logged; acked with the batch, as redelivering it cannot help
            if isinstance(report, Registered | Deregistered):
                await self.reports.handle_agent_report(report)
            else:
                by_task.setdefault(report.task_id, []).append(report)
        for attempt in range(RACE_RETRIES):
            if not by_task:
                return
            lost = await self.reports.handle_task_reports(by_task)
            # A decision that lost a race is decided again once the fold (soon) shows what won.
            by_task = {task_id: by_task[task_id] for task_id in lost}
            if by_task:
                await asyncio.sleep(0.01 * 2**attempt)
        raise RuntimeError(f"reports for {sorted(by_task)} kept losing races; restarting to re-read them")

    def _decode_report(self, msg: Delivery) -> Any:
        try:
            report = report_decoder.decode(msg.data)
        except msgspec.ValidationError as err:
            log.warning("malformed report on %s: %s", msg.subject, err)
            return None
        # Subject is <prefix>.reports.<agent_id>.<kind>: NATS permissions bind it to the sender.
        parts = msg.subject.split(".")
        if len(parts) < 4 or parts[-2] != report.agent_id:
            log.warning("report on %s claims agent %s: dropped", msg.subject, report.agent_id)
            return None
        return report

    async def _watch_heartbeats(self) -> None:
        watcher = await retrying(lambda: watch_bucket(self.js, self.settings.heartbeat_bucket),
                                 "watching the heartbeats", only=TRANSIENT)
        loading = True
        async for entry in watcher:
            if entry is None:  # every entry already in the bucket has been read
                loading = False
                self.alerts.heartbeats_loaded()
                continue
            if not entry.value:
                continue
            with suppress(msgspec.DecodeError):  # malformed or not JSON at all: that agent's beat is skipped
                beat = heartbeat_decoder.decode(entry.value)
                # An entry found in the bucket is as old as the server stored it; a live one is from now (so
                # freshness does not depend on the server's clock agreeing with this host's).
                now = datetime.now(UTC)
                stored = entry.created if loading and isinstance(entry.created, datetime) else now
                self.alerts.heartbeat(beat, min(stored, now))
                if self.liveness.beat(beat.agent_id, beat.session_id, min(stored, now)):
                    self.scheduler.poke()  # a lost agent is back
                agent = self.fleet.agents.get(beat.agent_id)
                if agent is not None and beat.session_id == agent.agent.session_id:
                    c = agent.candidate
                    c.tokens_per_s, c.free_vram_mb = beat.tokens_per_s, beat.free_vram_mb()
                    c.loaded_models = frozenset(beat.loaded_models)

    async def _refresh_metrics(self) -> None:
        while True:
            self.metrics.refresh(self.fleet)
            self.metrics.refresh_alerts(self.alerts.book.values())
            await asyncio.sleep(METRICS_INTERVAL_S)

    async def wait(self, stop: asyncio.Event) -> None:
        """Until `stop` is set; if a loop dies, raise its error so the process exits and is restarted."""
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({stopper, *self._tasks}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        for task in done:
            if task is not stopper:
                task.result()
                raise RuntimeError(f"coordinator loop {task.get_name()} ended unexpectedly")

    async def stop(self) -> None:
        await cancel_and_wait(*self._tasks)
        await self.scheduler.close()
        await self.publisher.close()
        await self.lease.release()
        COORDINATOR_LEADER.set(0)


async def run_coordinator(settings: Settings, stop: asyncio.Event) -> None:
    serve_metrics(settings)
    tracing = configure_tracing(settings, "coordinator")
    nc, js = await connect(settings, "hive-coordinator")
    coordinator = Coordinator(settings, nc, js, tracing)
    try:
        # A standby waits in start() for the lease; a stop meanwhile ends it there.
        starting = asyncio.create_task(coordinator.start())
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not starting.done():
            await cancel_and_wait(starting)
            return
        stopping.cancel()
        starting.result()
        await coordinator.wait(stop)
    finally:
        await coordinator.stop()
        with suppress(Exception):
            await nc.drain()
        if tracing is not None:
            tracing.shutdown()
