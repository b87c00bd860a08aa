"""The chain verifier: a clean log, and each kind of tampering named at exactly the event it touched."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import msgspec
import pytest

from core.audit.verify import ChainVerifier, Finding
from core.settings import load_settings
from core.store.chain import GENESIS, ChainHeads, digest_in, digester, link


@dataclass
class Ev:
    seq: int
    subject: str
    payload: bytes
    digest: str | None
    prev: str | None


def log_of(*events: tuple[str, bytes], digest_of: Callable[[str, bytes], str] = link,
           key_from: tuple[int, Callable[[str, bytes], str]] | None = None) -> list[Ev]:
    """A well-chained log: (subject, payload) in stream order, seqs from 1; `key_from` (seq, linker): the
    digests from that seq on are made by that linker."""
    heads: dict[str, str] = {}
    out = []
    for seq, (subject, payload) in enumerate(events, 1):
        prev = heads.get(subject, GENESIS)
        make = key_from[1] if key_from is not None and seq >= key_from[0] else digest_of
        heads[subject] = digest = make(prev, payload)
        out.append(Ev(seq, subject, payload, digest, prev))
    return out


def renumber(events: list[Ev]) -> list[Ev]:
    """As copied into another stream: the same messages, sequences from 1."""
    return [Ev(i, e.subject, e.payload, e.digest, e.prev) for i, e in enumerate(events, 1)]


def verify(events: list[Ev], **kw: bool | str | int) -> list[Finding]:
    v = ChainVerifier(**kw)  # type: ignore[arg-type]
    for e in events:
        v.add(e.seq, e.subject, e.digest, e.prev, e.payload)
    return v.findings()


def kinds(findings: list[Finding]) -> list[tuple[int, str, str]]:
    return [(f.seq, f.subject, f.kind) for f in findings]


A, B = "hive.events.task.a", "hive.events.task.b"
LOG = log_of((A, b"a1"), (B, b"b1"), (A, b"a2"), (A, b"a3"), (B, b"b2"), (A, b"a4"))


def test_a_clean_log_verifies() -> None:
    v = ChainVerifier()
    for e in LOG:
        v.add(e.seq, e.subject, e.digest, e.prev, e.payload)
    assert v.findings() == [] and (v.events, v.aggregates, v.unsigned) == (6, 2, 0)


def test_a_changed_event_is_named_and_nothing_else() -> None:
    tampered = list(LOG)
    tampered[2] = Ev(3, A, b"a2 (edited)", LOG[2].digest, LOG[2].prev)
    assert kinds(verify(tampered)) == [(3, A, "changed")]


def test_a_removed_event_is_named_by_the_gap_and_its_digest() -> None:
    copy = renumber(LOG[:2] + LOG[3:])  # a2 (seq 3) left out
    [finding] = verify(copy)
    assert (finding.seq, finding.subject, finding.kind) == (3, A, "removed")  # a3, now seq 3, follows the gap
    assert finding.digest == LOG[2].digest and "after seq 1" in finding.detail


def test_a_removed_first_event() -> None:
    [finding] = verify(renumber(LOG[1:]))
    assert (finding.seq, finding.subject, finding.kind) == (2, A, "removed") and "first event" in finding.detail


@pytest.mark.parametrize("prev", ["chained", "bogus", "genesis"])
def test_an_inserted_event_is_named_however_it_claims_to_chain(prev: str) -> None:
    before = LOG[2]  # a2: the forged event goes right after it
    claimed = {"chained": before.digest, "bogus": "f" * 64, "genesis": GENESIS}[prev]
    assert claimed is not None
    forged = Ev(0, A, b"forged", link(claimed, b"forged"), claimed)
    copy = renumber(LOG[:3] + [forged] + LOG[3:])
    assert kinds(verify(copy)) == [(4, A, "inserted")]


def test_an_inserted_unsigned_event() -> None:
    copy = renumber(LOG[:3] + [Ev(0, A, b"forged", None, None)] + LOG[3:])
    assert kinds(verify(copy)) == [(4, A, "unsigned")]
    # Taken as a pre-digest event, it is chained like one, and then seen to be outside the chain.
    assert kinds(verify(copy, allow_unsigned=True)) == [(4, A, "inserted")]


def test_a_replaced_event_with_a_recomputed_digest_shows_at_its_successor() -> None:
    replaced = list(LOG)
    replaced[2] = Ev(3, A, b"a2 (rewritten)", link(LOG[2].prev or "", b"a2 (rewritten)"), LOG[2].prev)
    [finding] = verify(replaced)
    assert (finding.seq, finding.kind) == (4, "removed") and finding.digest == LOG[2].digest


def test_a_log_from_before_digests_verifies_with_allow_unsigned_and_chains_on() -> None:
    legacy = [Ev(e.seq, e.subject, e.payload, None, None) for e in LOG]
    assert {f.kind for f in verify(legacy)} == {"unsigned"}
    # A writer after the upgrade chains onto the computed digest of the unsigned history, as the verifier does.
    head = LOG[-1].digest
    assert head is not None
    later = legacy + [Ev(7, A, b"a5", link(head, b"a5"), head)]
    assert verify(later, allow_unsigned=True) == []


def test_gaps_in_the_stream_are_removals() -> None:
    v = ChainVerifier()
    v.missing(4, 6)
    assert [(f.seq, f.kind, f.detail) for f in v.findings()] == [(4, "removed", "seqs 4-6 not in the stream (deleted)")]


def test_digest_in_reads_the_header_block() -> None:
    block = f"NATS/1.0\r\nNats-Msg-Id: x\r\nHive-Digest: {'ab' * 32}\r\nHive-Prev-Digest: {GENESIS}\r\n\r\n".encode()
    assert digest_in(block) == "ab" * 32
    assert digest_in(b"NATS/1.0\r\nNats-Msg-Id: x\r\n\r\n") is None


def test_chain_heads_hit_only_at_the_expected_sequence() -> None:
    heads = ChainHeads(max_heads=10)
    heads.record("t1", 5, "d5")
    assert heads.head("t1", 5) == "d5" and heads.head("t1", 4) is None and heads.head("t2", 5) is None
    # The fold notes raw headers, then says whose event it was: another writer's event becomes the head...
    heads.note(7, f"NATS/1.0\r\nHive-Digest: {'7' * 64}\r\n\r\n".encode())
    heads.seen("t1", 7)
    assert heads.head("t1", 7) == "7" * 64
    # ...while an event this process appended (recorded when stored, here at 9) is not parsed again.
    heads.record("t1", 9, "d9")
    heads.note(8, f"NATS/1.0\r\nHive-Digest: {'8' * 64}\r\n\r\n".encode())
    heads.seen("t1", 8)
    assert heads.head("t1", 9) == "d9"
    for i in range(20):  # past the bound, the oldest aggregates go first
        heads.record(f"x{i}", 100 + i, "d")
    assert heads.head("t1", 9) is None and heads.head("x19", 119) == "d"


KEY = "k" * 16 + "-audit"
EVENTS = ((A, b"a1"), (B, b"b1"), (A, b"a2"), (A, b"a3"), (B, b"b2"), (A, b"a4"))


def test_a_keyed_digest_is_an_hmac_and_differs_from_the_plain_one() -> None:
    keyed = digester(KEY)
    assert digester() is link and keyed is not link
    assert digester()(GENESIS, b"x") == link(GENESIS, b"x")
    assert keyed(GENESIS, b"x") != link(GENESIS, b"x") != digester("another-key-0123456")(GENESIS, b"x")
    assert keyed(GENESIS, b"x") == keyed(GENESIS, b"x")  # the copied HMAC state is not consumed


def test_a_keyed_log_verifies_under_its_key_and_not_without_or_under_another() -> None:
    keyed_log = log_of(*EVENTS, digest_of=digester(KEY))
    assert verify(keyed_log, key=KEY) == []
    assert {f.kind for f in verify(keyed_log)} == {"changed"}
    assert {f.kind for f in verify(keyed_log, key="another-key-0123456")} == {"changed"}


def test_a_chain_rewritten_without_the_key_is_caught_where_the_plain_chain_is_not() -> None:
    # The forger changes a2 and recomputes every later digest of its aggregate with plain SHA-256 (the only
    # digest they can make): an unkeyed check sees nothing; the keyed one names each event they rewrote.
    keyed_log = log_of(*EVENTS, digest_of=digester(KEY))
    forged = list(keyed_log)
    prev = keyed_log[0].digest
    assert prev is not None
    for i in (2, 3, 5):
        e = keyed_log[i]
        payload = b"a2-forged" if i == 2 else e.payload
        digest = link(prev, payload)
        forged[i] = Ev(e.seq, e.subject, payload, digest, prev)
        prev = digest
    assert kinds(verify(forged, key=KEY)) == [(3, A, "unkeyed"), (4, A, "unkeyed"), (6, A, "unkeyed")]
    plain_forged = log_of((A, b"a1"), (B, b"b1"), (A, b"a2-forged"), (A, b"a3"), (B, b"b2"), (A, b"a4"))
    assert verify(plain_forged) == []  # what the unkeyed chain cannot catch


def test_keyed_from_accepts_plain_digests_only_before_it() -> None:
    # A log whose writers got the key at seq 4: plain digests before, keyed from there on, one chain.
    mixed = log_of(*EVENTS, key_from=(4, digester(KEY)))
    assert verify(mixed, key=KEY, keyed_from=4) == []
    assert kinds(verify(mixed, key=KEY)) == [(1, A, "unkeyed"), (2, B, "unkeyed"), (3, A, "unkeyed")]
    # Plain digests after keyed_from are a downgrade, reported.
    assert kinds(verify(log_of(*EVENTS), key=KEY, keyed_from=4)) == [(4, A, "unkeyed"), (5, B, "unkeyed"),
                                                                     (6, A, "unkeyed")]
    v = ChainVerifier(key=KEY, keyed_from=4)
    for e in mixed:
        v.add(e.seq, e.subject, e.digest, e.prev, e.payload)
    assert v.unkeyed == 3



def test_the_audit_key_is_read_from_the_environment_and_a_short_one_is_refused_by_name() -> None:
    assert load_settings({"HIVE_AUDIT_KEY": KEY}).audit_key == KEY
    assert load_settings({}).audit_key == ""
    with pytest.raises(msgspec.ValidationError, match=r"HIVE_AUDIT_KEY must be at least 16 characters.*audit_key"):
        load_settings({"HIVE_AUDIT_KEY": "short"})
