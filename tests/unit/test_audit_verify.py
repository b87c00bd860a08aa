"""The chain verifier: a clean log, and each kind of tampering named at exactly the event it touched."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from core.audit.verify import ChainVerifier, Finding
from core.store.chain import GENESIS, ChainHeads, digest_in, link


@dataclass
class Ev:
    seq: int
    subject: str
    payload: bytes
    digest: str | None
    prev: str | None


def log_of(*events: tuple[str, bytes]) -> list[Ev]:
    """A well-chained log: (subject, payload) in stream order, seqs from 1."""
    heads: dict[str, str] = {}
    out = []
    for seq, (subject, payload) in enumerate(events, 1):
        prev = heads.get(subject, GENESIS)
        heads[subject] = digest = link(prev, payload)
        out.append(Ev(seq, subject, payload, digest, prev))
    return out


def renumber(events: list[Ev]) -> list[Ev]:
    """As copied into another stream: the same messages, sequences from 1."""
    return [Ev(i, e.subject, e.payload, e.digest, e.prev) for i, e in enumerate(events, 1)]


def verify(events: list[Ev], **kw: bool) -> list[Finding]:
    v = ChainVerifier(**kw)
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
