"""Append-only event store on JetStream: one subject per aggregate, optimistic concurrency per subject."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

import nats.errors
import orjson
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.errors import APIError

from core.errors import ConcurrencyError
from core.events.codec import decode_envelope, encode_envelope
from core.events.envelope import Envelope, Recorded
from core.metrics import EVENTS_APPENDED
from core.settings import Settings
from core.store.publisher import Publisher, header_block

# A publish's expected last subject sequence did not hold: 10071 on one replica; a replicated stream answers
# 10164 (no sequence) when another publish to the subject is still being replicated.
WRONG_LAST_SEQUENCE = (10071, 10164)
# A replicated stream's answer to a publish whose Nats-Msg-Id is still being replicated (a retry of ours).
DUPLICATE_IN_PROCESS = 10158
LOAD_BATCH = 512


# One counter child per event type, looked up once: appends are the hot path.
_appended: dict[str, Any] = {}


def _count(event_type: str) -> None:
    child = _appended.get(event_type)
    if child is None:
        child = _appended[event_type] = EVENTS_APPENDED.labels(event_type)
    child.inc()


class EventStore:
    def __init__(self, nc: NATS, js: JetStreamContext, settings: Settings, publisher: Publisher | None = None) -> None:
        self._nc = nc
        self._js = js
        self._settings = settings
        self._publisher = publisher if publisher is not None else Publisher(nc, configured_url=settings.nats_url)

    @property
    def settings(self) -> Settings:
        return self._settings

    def subject_of(self, envelope: Envelope[Any]) -> str:
        return self._settings.event_subject(envelope.aggregate, envelope.aggregate_id)

    async def append(
        self,
        events: Sequence[Envelope[Any]],
        expected_seq: int,
        headers: dict[str, str] | None = None,
    ) -> int:
        """Append events of one aggregate after `expected_seq` (0: a new aggregate); returns the last seq.

        Raises ConcurrencyError when another writer appended first. A retried append of the
        same event ids is recognised by JetStream's Nats-Msg-Id de-duplication and not stored twice.
        """
        seq = expected_seq
        for envelope in events:
            future = await self._submit(envelope, seq, headers)
            seq = await self._settle(envelope, seq, future)
            _count(envelope.type)
        return seq

    async def _submit(
        self, envelope: Envelope[Any], expected_seq: int, headers: dict[str, str] | None = None
    ) -> asyncio.Future[Any]:
        extra = header_block(headers) if headers else "NATS/1.0\r\n\r\n"
        if extra is None:
            raise ValueError(f"header values may not contain line breaks: {headers!r}")
        # The wire form directly: appends are the hot path of every process that writes events.
        block = (f"NATS/1.0\r\nNats-Msg-Id: {envelope.event_id}\r\nNats-Expected-Last-Subject-Sequence: "
                 f"{expected_seq}\r\nHive-Event-Type: {envelope.type}\r\n{extra[10:]}")
        subject, payload = self.subject_of(envelope), encode_envelope(envelope)
        future = self._publisher.try_submit(subject, payload, block)
        return future if future is not None else await self._publisher.submit(subject, payload, block=block)

    async def _settle(self, envelope: Envelope[Any], expected_seq: int, future: asyncio.Future[Any]) -> int:
        """The stored seq of one submitted event, or ConcurrencyError if another writer got there first."""
        try:
            return int((await future).seq)
        except APIError as err:
            if err.err_code == DUPLICATE_IN_PROCESS:
                # Stored or not, we cannot tell yet: a timeout, which callers retry with the same event id,
                # and that retry gets the first try's ack once it is through.
                raise nats.errors.TimeoutError() from err
            if err.err_code not in WRONG_LAST_SEQUENCE:
                raise
            # JetStream checks the expected sequence before de-duplicating, so a retry whose first try was
            # stored (its ack lost) lands here: find our own event in the history.
            stored = await self._stored_seq(envelope)
            if stored is None:
                raise ConcurrencyError(self.subject_of(envelope), expected_seq) from err
            return stored

    async def _stored_seq(self, envelope: Envelope[Any]) -> int | None:
        for rec in reversed(await self.load(envelope.aggregate, envelope.aggregate_id)):
            if rec.envelope.event_id == envelope.event_id:
                return rec.seq
        return None

    async def append_many(
        self, batches: Sequence[tuple[Sequence[Envelope[Any]], int]], headers: dict[str, str] | None = None
    ) -> list[int | BaseException]:
        """Append to many aggregates with their publishes pipelined; per batch its last seq or its error.
        `headers` go with every event (e.g. the traceparent of the request that caused them).

        Round k puts event k of every unfinished batch on the wire before awaiting any ack, so n
        single-event appends cost about one round trip. A batch's error (ConcurrencyError, a timeout)
        stops only that batch; retrying it with the same envelopes is safe (see `append`).
        """
        results: list[int | BaseException] = [expected for _events, expected in batches]
        live = [i for i, (events, _) in enumerate(batches) if events]
        k = 0
        while live:
            sent: list[tuple[int, asyncio.Future[Any]]] = []
            for i in live:
                envelope, seq = batches[i][0][k], results[i]
                assert isinstance(seq, int)
                try:
                    sent.append((i, await self._submit(envelope, seq, headers)))
                except Exception as err:  # noqa: BLE001 - reported per batch
                    results[i] = err
            for i, future in sent:
                if not future.done():
                    with contextlib.suppress(Exception):
                        await future  # its outcome is read below
                envelope = batches[i][0][k]
                if not future.cancelled() and future.exception() is None:
                    results[i] = int(future.result().seq)  # the usual case, without a coroutine per event
                    _count(envelope.type)
                    continue
                seq = results[i]
                assert isinstance(seq, int)
                try:
                    results[i] = await self._settle(envelope, seq, future)
                    _count(envelope.type)
                except Exception as err:  # noqa: BLE001 - reported per batch
                    results[i] = err
            k += 1
            live = [i for i in live if isinstance(results[i], int) and k < len(batches[i][0])]
        return results

    async def load(self, aggregate: str, aggregate_id: str) -> list[Recorded[Any]]:
        """The aggregate's whole history, in order, via batched direct gets (one round trip per 512)."""
        subject = self._settings.event_subject(aggregate, aggregate_id)
        out: list[Recorded[Any]] = []
        start = 1
        while True:
            batch, done = await self._direct_get_batch(subject, start)
            out.extend(batch)
            if done or not batch:
                return out
            start = batch[-1].seq + 1

    async def _direct_get_batch(self, subject: str, start: int) -> tuple[list[Recorded[Any]], bool]:
        """One batched direct get; servers before 2.11 ignore `batch` and answer one message."""
        inbox = self._nc.new_inbox()
        sub = await self._nc.subscribe(inbox)
        try:
            request = orjson.dumps({"seq": start, "next_by_subj": subject, "batch": LOAD_BATCH})
            await self._nc.publish(
                f"$JS.API.DIRECT.GET.{self._settings.events_stream}", request, reply=inbox
            )
            out: list[Recorded[Any]] = []
            while True:
                msg = await sub.next_msg(timeout=5.0)
                headers = msg.headers or {}
                status = headers.get("Status")
                if status is not None and not msg.data:
                    if status == "204":  # end of batch: Nats-Num-Pending on it says if more remain
                        return out, headers.get("Nats-Num-Pending", "0") == "0" or len(out) < LOAD_BATCH
                    if status == "404":
                        return out, True
                    raise APIError(code=int(status), description=headers.get("Description", ""))
                out.append(Recorded(seq=int(headers["Nats-Sequence"]), envelope=decode_envelope(msg.data)))
                if "Nats-Num-Pending" not in headers:
                    return out, False  # an old server answered a single message
        finally:
            await sub.unsubscribe()

    async def stream_last_seq(self) -> int:
        """The sequence of the last event in the whole stream."""
        info = await self._js.stream_info(self._settings.events_stream)
        return int(info.state.last_seq)

    async def last_seq(self, aggregate: str, aggregate_id: str) -> int:
        history = await self.load(aggregate, aggregate_id)
        return history[-1].seq if history else 0
