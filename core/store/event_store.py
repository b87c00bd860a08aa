"""Append-only event store on JetStream: one subject per aggregate, optimistic concurrency per subject."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import orjson
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.errors import APIError

from core.errors import ConcurrencyError
from core.events.codec import decode_envelope, encode_envelope
from core.events.envelope import Envelope, Recorded
from core.settings import Settings

WRONG_LAST_SEQUENCE = 10071
LOAD_BATCH = 512


class EventStore:
    def __init__(self, nc: NATS, js: JetStreamContext, settings: Settings) -> None:
        self._nc = nc
        self._js = js
        self._settings = settings

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
            subject = self.subject_of(envelope)
            hdrs = {
                "Nats-Msg-Id": envelope.event_id,
                "Nats-Expected-Last-Subject-Sequence": str(seq),
                "Hive-Event-Type": envelope.type,
            }
            if headers:
                hdrs.update(headers)
            try:
                ack = await self._js.publish(subject, encode_envelope(envelope), headers=hdrs)
            except APIError as err:
                if err.err_code != WRONG_LAST_SEQUENCE:
                    raise
                # JetStream checks the expected sequence before de-duplicating, so a retry whose first
                # try was stored (its ack lost) lands here: find our own event in the history.
                stored = await self._stored_seq(envelope)
                if stored is None:
                    raise ConcurrencyError(subject, seq) from err
                seq = stored
                continue
            seq = ack.seq
        return seq

    async def _stored_seq(self, envelope: Envelope[Any]) -> int | None:
        for rec in reversed(await self.load(envelope.aggregate, envelope.aggregate_id)):
            if rec.envelope.event_id == envelope.event_id:
                return rec.seq
        return None

    async def append_many(
        self, batches: Sequence[tuple[Sequence[Envelope[Any]], int]]
    ) -> list[int | ConcurrencyError]:
        """Append to several aggregates at once (their publishes are in flight together)."""
        results = await asyncio.gather(
            *(self.append(events, expected) for events, expected in batches), return_exceptions=True
        )
        out: list[int | ConcurrencyError] = []
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, ConcurrencyError):
                raise result
            out.append(result)
        return out

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

    async def last_seq(self, aggregate: str, aggregate_id: str) -> int:
        history = await self.load(aggregate, aggregate_id)
        return history[-1].seq if history else 0
