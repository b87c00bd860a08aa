"""`hive audit verify`: walks a stream's events in order through batched direct gets and checks the digest chain."""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator
from dataclasses import asdict

import orjson
from nats.aio.client import Client as NATS
from nats.js.errors import APIError

from core.audit.verify import ChainVerifier
from core.settings import Settings
from core.store.chain import DIGEST_HEADER, PREV_HEADER

BATCH = 512
GET_TIMEOUT_S = 10.0

Message = tuple[int, str, dict[str, str], bytes]  # (seq, subject, headers, payload)


async def messages(nc: NATS, stream: str, subjects: str, until_seq: int) -> AsyncIterator[Message]:
    """Every message of `stream` on `subjects` up to `until_seq`, in order (deleted ones are simply absent)."""
    start = 1
    while start <= until_seq:
        inbox = nc.new_inbox()
        sub = await nc.subscribe(inbox)
        got = 0
        try:
            request = orjson.dumps({"seq": start, "next_by_subj": subjects, "batch": BATCH})
            await nc.publish(f"$JS.API.DIRECT.GET.{stream}", request, reply=inbox)
            while True:
                msg = await sub.next_msg(timeout=GET_TIMEOUT_S)
                headers = msg.headers or {}
                status = headers.get("Status")
                if status is not None and not msg.data:
                    if status == "404":
                        return
                    if status != "204":
                        raise APIError(code=int(status), description=headers.get("Description", ""))
                    break  # end of this batch
                seq = int(headers["Nats-Sequence"])
                if seq > until_seq:
                    return
                got += 1
                start = seq + 1
                yield seq, headers["Nats-Subject"], headers, msg.data
        finally:
            await sub.unsubscribe()
        if not got:
            return


async def verify_stream(nc: NATS, stream: str, subjects: str, verifier: ChainVerifier) -> int:
    """Feed `verifier` the stream as it stands now; returns the last sequence checked."""
    info = orjson.loads((await nc.request(f"$JS.API.STREAM.INFO.{stream}", b"", timeout=GET_TIMEOUT_S)).data)
    if "error" in info:
        raise APIError.from_error(info["error"])
    state = info["state"]
    first, last = int(state["first_seq"]), int(state["last_seq"])
    if first > 1:
        verifier.missing(1, first - 1)
    expected = first
    async for seq, subject, headers, payload in messages(nc, stream, subjects, last):
        if subjects == ">" and seq > expected:
            verifier.missing(expected, seq - 1)  # only a whole-stream walk can tell a deletion from a filter
        expected = seq + 1
        verifier.add(seq, subject, headers.get(DIGEST_HEADER), headers.get(PREV_HEADER), payload)
    return last


async def run_verify(settings: Settings, args: argparse.Namespace) -> int:
    """Exit status 0 when the chain holds, 1 when anything was changed, removed or inserted (or is unsigned)."""
    from core.store.connect import connect

    stream = args.stream or settings.events_stream
    verifier = ChainVerifier(allow_unsigned=args.allow_unsigned, key=settings.audit_key, keyed_from=args.keyed_from)
    nc, _ = await connect(settings, "hive-audit-verify", ensure=False)
    try:
        last = await verify_stream(nc, stream, args.subjects, verifier)
    finally:
        await nc.close()
    findings = verifier.findings()
    if args.json:
        report = {"stream": stream, "last_seq": last, "events": verifier.events, "aggregates": verifier.aggregates,
                  "unsigned": verifier.unsigned, "keyed": verifier.keyed, "unkeyed": verifier.unkeyed,
                  "findings": [asdict(f) for f in findings]}
        sys.stdout.buffer.write(orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")
    else:
        for f in findings:
            print(f"seq {f.seq}  {f.kind:<8}  {f.subject or '-'}: {f.detail}")
        verdict = "the chain holds" if not findings else f"{len(findings)} finding{'s' if len(findings) > 1 else ''}"
        unsigned = f", {verifier.unsigned} without digests" if verifier.unsigned else ""
        unkeyed = f", {verifier.unkeyed} unkeyed before seq {verifier.keyed_from}" if verifier.unkeyed else ""
        keyed = "keyed" if verifier.keyed else "unkeyed (HIVE_AUDIT_KEY unset)"
        print(f"{stream}: {verifier.events} events of {verifier.aggregates} aggregates up to seq {last}"
              f"{unsigned}{unkeyed}, {keyed} check: {verdict}")
        if not verifier.keyed and any(f.kind == "changed" for f in findings):
            print("if the writers have HIVE_AUDIT_KEY set, set it here too: without it every keyed digest fails")
    return 1 if findings else 0
