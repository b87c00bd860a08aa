"""Checks the digest chain of a log, event by event in stream order, and says what was changed, removed or
inserted (pure: the caller reads the stream; see core/store/chain.py for how the chain is made)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from core.store.chain import GENESIS, digester, link

Kind = Literal["changed", "removed", "inserted", "unsigned", "unkeyed"]
# Digests remembered per aggregate to recognise an insertion (the next genuine event skips back over it).
RECENT = 64


@dataclass(frozen=True, slots=True)
class Finding:
    """What is wrong at stream sequence `seq` of aggregate subject `subject`. For a removal, `seq` is the
    event that follows the gap and `digest` the missing event's digest (what that event chains to)."""

    seq: int
    subject: str
    kind: Kind
    detail: str
    digest: str | None = None


@dataclass(slots=True)
class _Chain:
    last_seq: int = 0
    last: str = GENESIS
    recent: list[tuple[int, str]] = field(default_factory=list)  # (seq, digest), oldest first


class ChainVerifier:
    """Feed every event with `add` (stream order) and stream gaps with `missing`; read `findings()`.

    `allow_unsigned`: events without digest headers (a log written before digests existed) are chained as the
    writers chain them (their computed digest) and counted in `unsigned`, not reported.

    `key`: the audit key the writers had (HIVE_AUDIT_KEY). Every digest must then be an HMAC under it; one that is
    a plain SHA-256 is reported `unkeyed` (rewritten by someone without the key), except before stream sequence
    `keyed_from`, for a log whose writers got the key only then (counted in `unkeyed`). The rule has no other
    exception, so a forger cannot downgrade the chain to plain digests."""

    def __init__(self, *, allow_unsigned: bool = False, key: str = "", keyed_from: int = 0) -> None:
        self._chains: dict[str, _Chain] = {}
        self._findings: dict[tuple[int, Kind], Finding] = {}
        self._link = digester(key)
        self.keyed = bool(key)
        self.allow_unsigned = allow_unsigned
        self.keyed_from = keyed_from
        self.events = 0
        self.unsigned = 0
        self.unkeyed = 0

    @property
    def aggregates(self) -> int:
        return len(self._chains)

    def findings(self) -> list[Finding]:
        return sorted(self._findings.values(), key=lambda f: (f.seq, f.kind))

    def missing(self, first: int, last: int) -> None:
        """Stream sequences first..last are not in the stream: deleted in place."""
        what = f"seq {first}" if first == last else f"seqs {first}-{last}"
        self._report(Finding(first, "", "removed", f"{what} not in the stream (deleted)"))

    def add(self, seq: int, subject: str, digest: str | None, prev: str | None, payload: bytes) -> None:
        self.events += 1
        chain = self._chains.get(subject)
        if chain is None:
            chain = self._chains[subject] = _Chain()
        if digest is None or prev is None:
            self.unsigned += 1
            if self.allow_unsigned:
                self._advance(chain, seq, link(chain.last, payload))
            else:
                self._report(Finding(seq, subject, "unsigned", "no Hive-Digest headers: not written by Hive's "
                                     "event store, or its headers were stripped"))
            return
        altered = self._link(prev, payload) != digest
        if altered and self.keyed and link(prev, payload) == digest:
            altered = False  # the content matches, but the digest is not under the key
            if seq < self.keyed_from:
                self.unkeyed += 1
            else:
                self._report(Finding(seq, subject, "unkeyed", "its digest is a plain SHA-256, not under the audit "
                                     "key: written or rewritten without the key", digest))
        if prev == chain.last:
            if altered:
                self._report(Finding(seq, subject, "changed", "its content does not match its digest: altered "
                                     "after it was written", digest))
        elif (at := _index(chain.recent, prev)) is not None:
            # It chains to an earlier event of its aggregate: those after that one are not in the chain.
            skipped_from = chain.recent[at][0]
            for other_seq, other in chain.recent[at + 1:]:
                self._findings.pop((other_seq, "removed"), None)  # explained now: inserted, not a gap
                self._report(Finding(other_seq, subject, "inserted", f"not in the chain: seq {seq} follows seq "
                                     f"{skipped_from} of its aggregate directly", other))
            del chain.recent[at + 1:]
            if altered:
                self._report(Finding(seq, subject, "changed", "its content does not match its digest", digest))
        else:
            after = f"after seq {chain.last_seq}" if chain.last_seq else "before it"
            gone = "its first event" if prev != GENESIS and not chain.last_seq else "an event"
            self._report(Finding(seq, subject, "removed", f"{gone} of this aggregate is missing ({after}): "
                                 f"it chains to digest {prev[:16]}…, which the log no longer holds", prev))
        self._advance(chain, seq, digest)

    def _advance(self, chain: _Chain, seq: int, digest: str) -> None:
        chain.last_seq, chain.last = seq, digest
        chain.recent.append((seq, digest))
        if len(chain.recent) > RECENT:
            del chain.recent[0]

    def _report(self, finding: Finding) -> None:
        self._findings.setdefault((finding.seq, finding.kind), finding)


def _index(recent: list[tuple[int, str]], digest: str) -> int | None:
    for i in range(len(recent) - 1, -1, -1):
        if recent[i][1] == digest:
            return i
    return None
