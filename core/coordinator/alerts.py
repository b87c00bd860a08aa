"""The coordinator's alert loop: every HIVE_ALERT_INTERVAL_S, measure, evaluate the rules, append raises and
resolves (aggregate `system`, one per rule and subject) through the same writer as every other decision.

The book of open alerts is folded from the log like the fleet, so a restarted coordinator knows what is
open. The first evaluation waits until the heartbeat bucket's and the checkpoint bucket's current entries
have been read: before that, every agent would look silent.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import UTC, datetime
from typing import Any

from nats.js import JetStreamContext

from core.coordinator.alert_measures import Observations
from core.coordinator.decisions import Decisions
from core.coordinator.fleet import Fleet
from core.coordinator.writer import Plan, Writer
from core.domain.alert_rules import AlertRule, rules_from_config
from core.domain.alerts import AlertState, Decision, Raise, evaluate, fold_event
from core.events.envelope import Recorded
from core.events.system import AlertRaised, AlertResolved
from core.ids import uuid7
from core.messages import Heartbeat
from core.runtime import cancel_and_wait, retrying
from core.settings import Settings
from core.store.checkpoints import checkpoint_bucket, checkpoint_decoder
from core.store.streams import watch_bucket
from core.store.transient import TRANSIENT

log = logging.getLogger(__name__)

# A subject becomes a token of the alert's NATS subject.
_SUBJECT = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
# Measures over a time window: the observations keep the longest such window of history.
WINDOWED = frozenset({"avg_response_time_s", "task_failure_rate"})


class AlertMonitor:
    def __init__(self, settings: Settings, fleet: Fleet, decisions: Decisions, writer: Writer,
                 js: JetStreamContext, rules: tuple[AlertRule, ...] | None = None) -> None:
        self.settings = settings
        # An invalid HIVE_ALERT_RULES stops the coordinator here, at start, with the field named.
        self.rules = rules_from_config(settings.alert_rules) if rules is None else rules
        self._fleet, self._decisions, self._writer, self._js = fleet, decisions, writer, js
        self.book: dict[str, AlertState] = {}
        keep = max([r.window_s for r in self.rules if r.measure in WINDOWED], default=0.0)
        self.observations = Observations(keep_s=max(keep, 60.0))
        self._breaching: dict[str, datetime] = {}
        self._heartbeats_loaded = asyncio.Event()
        self.evaluations = 0

    # -- fed by the coordinator ---------------------------------------------------------------------

    def observe(self, rec: Recorded[Any]) -> None:
        """Every folded event, in log order (during the replay at start too)."""
        env = rec.envelope
        if env.aggregate == "task":
            self.observations.task_event(env.aggregate_id, env.data, env.occurred_at)
        elif env.aggregate == "system":
            fold_event(self.book, env.aggregate_id, env.data, env.occurred_at, rec.seq)

    def heartbeat(self, beat: Heartbeat, at: datetime) -> None:
        self.observations.heartbeat(beat.agent_id, beat.cpu_percent, at)

    def heartbeats_loaded(self) -> None:
        self._heartbeats_loaded.set()

    # -- the loop -------------------------------------------------------------------------------------

    async def run(self) -> None:
        watcher = await retrying(lambda: watch_bucket(self._js, checkpoint_bucket(self.settings)),
                                 "watching the checkpoints", only=TRANSIENT)
        loaded = asyncio.Event()
        watching = asyncio.create_task(self._watch_checkpoints(watcher, loaded), name="alert-checkpoints")
        try:
            await loaded.wait()
            await self._heartbeats_loaded.wait()
            while True:
                if watching.done():
                    watching.result()
                    raise RuntimeError("the checkpoint watch ended")
                try:
                    await self.evaluate(datetime.now(UTC))
                except Exception:
                    log.exception("alert evaluation failed; trying again in %.1fs", self.settings.alert_interval_s)
                await asyncio.sleep(self.settings.alert_interval_s)
        finally:
            await cancel_and_wait(watching)

    async def _watch_checkpoints(self, watcher: Any, loaded: asyncio.Event) -> None:
        async for entry in watcher:
            if entry is None:
                loaded.set()
                continue
            if entry.value:
                try:
                    self.observations.checkpoints[entry.key] = checkpoint_decoder.decode(entry.value).seq
                except ValueError as err:  # msgspec's errors are ValueErrors
                    log.warning("checkpoint %s is malformed: %s", entry.key, err)

    async def evaluate(self, now: datetime) -> list[Decision]:
        """One round: measure, decide, append. Returns what was decided (appended unless it lost a race)."""
        last_seq = await self._last_seq() if any(r.measure == "projection_lag_events" for r in self.rules) else None
        agents = self._fleet.agents.values()
        measured: dict[str, dict[str, float] | None] = {}
        for rule in self.rules:
            values = self.observations.measure(rule, agents, last_seq, now)
            measured[rule.name] = None if values is None else {s: v for s, v in values.items() if _SUBJECT.match(s)}
        decisions = [d for d in evaluate(self.rules, self.book, measured, self._breaching, now)
                     if not self._decisions.is_open(d.key)]  # its previous decision is not folded back yet
        if decisions:
            await self._writer.decide_many([self._plan(d) for d in decisions])
        self.evaluations += 1
        return decisions

    async def _last_seq(self) -> int | None:
        try:
            return int((await self._js.stream_info(self.settings.events_stream)).state.last_seq)
        except Exception as err:  # projection lag is not measured this round; nothing changes
            log.warning("events stream info unavailable: %s", err)
            return None

    def _plan(self, decision: Decision) -> Plan:
        state = self.book.get(decision.key)
        expected = state.last_seq if state is not None else 0
        if isinstance(decision, Raise):
            r = decision.rule
            event: AlertRaised | AlertResolved = AlertRaised(
                alert_id=uuid7(), rule=r.name, subject=decision.subject, severity=r.severity, measure=r.measure,
                value=decision.value, op=r.op, threshold=r.threshold, message=decision.message())
            log.warning("alert raised (%s): %s", r.severity, event.message)
        else:
            s = decision.state
            assert s.open_id is not None
            event = AlertResolved(alert_id=s.open_id, rule=s.rule, subject=s.subject, severity=s.severity,
                                  value=decision.value, message=decision.message())
            log.info("alert resolved: %s", event.message)
        return Plan(decision.key, [event], expected, correlation_id=event.alert_id)
