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
from core.store.chain import DIGEST_HEADER, GENESIS, ChainHeads, digester, link
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
        # Each aggregate's last digest, for chaining the next append to it (see core/store/chain.py).
        self.heads = ChainHeads()
        self._link = digester(settings.audit_key)

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
        prev: str | None = None
        for envelope in events:
            subject = self.subject_of(envelope)
            if prev is None:
                prev = await self._prev_digest(envelope.aggregate_id, subject, seq)
            future, digest = await self._submit(envelope, subject, seq, prev, headers)
            seq = await self._settle(envelope, seq, future)
            self.heads.record(envelope.aggregate_id, seq, digest)
            prev = digest
            _count(envelope.type)
        return seq

    async def _submit(
        self, envelope: Envelope[Any], subject: str, expected_seq: int, prev: str,
        headers: dict[str, str] | None = None,
    ) -> tuple[asyncio.Future[Any], str]:
        """Put one event on the wire, chained to `prev` (its aggregate's last digest); its ack and digest."""
        extra = header_block(headers) if headers else "NATS/1.0\r\n\r\n"
        if extra is None:
            raise ValueError(f"header values may not contain line breaks: {headers!r}")
        payload = encode_envelope(envelope)
        digest = self._link(prev, payload)
        # The wire form directly: appends are the hot path of every process that writes events.
        block = (f"NATS/1.0\r\nNats-Msg-Id: {envelope.event_id}\r\nNats-Expected-Last-Subject-Sequence: "
                 f"{expected_seq}\r\nHive-Event-Type: {envelope.type}\r\nHive-Digest: {digest}\r\n"
                 f"Hive-Prev-Digest: {prev}\r\n{extra[10:]}")
        future = self._publisher.try_submit(subject, payload, block)
        if future is None:
            future = await self._publisher.submit(subject, payload, block=block)
        return future, digest

    async def _prev_digest(self, aggregate_id: str, subject: str, expected_seq: int) -> str:
        """The digest the next event of `subject` chains to: remembered, or read off the log."""
        if expected_seq == 0:
            return GENESIS
        digest = self.heads.head(aggregate_id, expected_seq)
        if digest is None:
            self.heads.misses += 1
            digest = await self._fetch_head(aggregate_id, subject)
        return digest

    async def _fetch_head(self, aggregate_id: str, subject: str) -> str:
        """The digest of the subject's last stored event (GENESIS if it has none: the append, which expects
        one, then fails as a lost race). Events stored before digests existed are chained as if they had them."""
        reply = await self._nc.request(f"$JS.API.DIRECT.GET.{self._settings.events_stream}",
                                       orjson.dumps({"last_by_subj": subject}), timeout=5.0)
        headers = reply.headers or {}
        if not reply.data and headers.get("Status") == "404":
            return GENESIS
        if headers.get("Status") is not None and not reply.data:
            raise APIError(code=int(headers["Status"]), description=headers.get("Description", ""))
        digest = headers.get(DIGEST_HEADER)
        if digest is not None:
            self.heads.record(aggregate_id, int(headers["Nats-Sequence"]), digest)
            return digest
        prev, start = GENESIS, 1
        while True:  # an unsigned head: fold the digests of its whole history
            batch, done = await self._direct_get_batch(subject, start)
            for seq, hdrs, data in batch:
                # Written before digests (and so before any key): chained unkeyed, as verify chains them.
                prev = hdrs.get(DIGEST_HEADER) or link(prev, data)
            if done or not batch:
                return prev
            start = batch[-1][0] + 1

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
        prevs = await self._prev_digests(batches, live, results)
        live = [i for i in live if isinstance(results[i], int)]
        k = 0
        while live:
            sent: list[tuple[int, asyncio.Future[Any], str]] = []
            for i in live:
                envelope, seq = batches[i][0][k], results[i]
                assert isinstance(seq, int)
                try:
                    future, digest = await self._submit(envelope, self.subject_of(envelope), seq, prevs[i], headers)
                    sent.append((i, future, digest))
                except Exception as err:  # noqa: BLE001 - reported per batch
                    results[i] = err
            for i, future, digest in sent:
                if not future.done():
                    with contextlib.suppress(Exception):
                        await future  # its outcome is read below
                envelope = batches[i][0][k]
                if not future.cancelled() and future.exception() is None:
                    results[i] = stored = int(future.result().seq)  # the usual case, without a coroutine per event
                    self.heads.record(envelope.aggregate_id, stored, digest)
                    prevs[i] = digest
                    _count(envelope.type)
                    continue
                seq = results[i]
                assert isinstance(seq, int)
                try:
                    results[i] = stored = await self._settle(envelope, seq, future)
                    self.heads.record(envelope.aggregate_id, stored, digest)
                    prevs[i] = digest
                    _count(envelope.type)
                except Exception as err:  # noqa: BLE001 - reported per batch
                    results[i] = err
            k += 1
            live = [i for i in live if isinstance(results[i], int) and k < len(batches[i][0])]
        return results

    async def _prev_digests(self, batches: Sequence[tuple[Sequence[Envelope[Any]], int]], live: list[int],
                            results: list[int | BaseException]) -> dict[int, str]:
        """Per live batch, the digest its first event chains to; those not remembered are fetched together."""
        prevs: dict[int, str] = {}
        missing: list[tuple[int, Envelope[Any]]] = []
        for i in live:
            expected, first = batches[i][1], batches[i][0][0]
            digest = GENESIS if expected == 0 else self.heads.head(first.aggregate_id, expected)
            if digest is None:
                missing.append((i, first))
            else:
                prevs[i] = digest
        if missing:
            self.heads.misses += len(missing)
            fetched = await asyncio.gather(*(self._fetch_head(e.aggregate_id, self.subject_of(e)) for _, e in missing),
                                           return_exceptions=True)
            for (i, _), value in zip(missing, fetched, strict=True):
                if isinstance(value, BaseException):
                    results[i] = value
                else:
                    prevs[i] = value
        return prevs

    async def load(self, aggregate: str, aggregate_id: str) -> list[Recorded[Any]]:
        """The aggregate's whole history, in order, via batched direct gets (one round trip per 512)."""
        subject = self._settings.event_subject(aggregate, aggregate_id)
        out: list[Recorded[Any]] = []
        start = 1
        while True:
            batch, done = await self._direct_get_batch(subject, start)
            out.extend(Recorded(seq=seq, envelope=decode_envelope(data)) for seq, _, data in batch)
            if done or not batch:
                digest = batch[-1][1].get(DIGEST_HEADER) if batch else None
                if digest is not None:  # the head a write after this read chains to
                    self.heads.record(aggregate_id, batch[-1][0], digest)
                return out
            start = batch[-1][0] + 1

    async def _direct_get_batch(
        self, subject: str, start: int
    ) -> tuple[list[tuple[int, dict[str, str], bytes]], bool]:
        """One batched direct get, (seq, headers, payload) per message; servers before 2.11 ignore `batch` and
        answer one message."""
        inbox = self._nc.new_inbox()
        sub = await self._nc.subscribe(inbox)
        try:
            request = orjson.dumps({"seq": start, "next_by_subj": subject, "batch": LOAD_BATCH})
            await self._nc.publish(
                f"$JS.API.DIRECT.GET.{self._settings.events_stream}", request, reply=inbox
            )
            out: list[tuple[int, dict[str, str], bytes]] = []
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
                out.append((int(headers["Nats-Sequence"]), headers, msg.data))
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
