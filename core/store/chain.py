"""The tamper-evident digest chain: each event's digest covers its payload and the previous event of its
aggregate, and travels in its headers; ChainHeads remembers each aggregate's last (seq, digest) for writers.

digest(event) = sha256(digest(previous event of its aggregate subject) + stored payload bytes), hex; the first
event of an aggregate chains to GENESIS. Every append carries `Hive-Digest` (its own) and `Hive-Prev-Digest`
(what it chains to), so a verifier can tell an altered event (its digest does not match its content) from a
removed one (its successor names a digest the log no longer holds) and from an inserted one (the next genuine
event names the digest before it). The chain needs no secret: it shows changes made without recomputing the
digests of every later event of the aggregate, and `hive audit verify` checks it (core/audit/verify.py).
"""

from __future__ import annotations

import hashlib
from itertools import islice

GENESIS = "0" * 64
DIGEST_HEADER = "Hive-Digest"
PREV_HEADER = "Hive-Prev-Digest"
_DIGEST_AT = b"\r\nHive-Digest: "
_DIGEST_LEN = 64
# Aggregates remembered (most recently appended or seen last); older ones are fetched again when written.
MAX_HEADS = 200_000


def link(prev: str, payload: bytes) -> str:
    """The digest of an event whose aggregate's previous event has digest `prev` (GENESIS for the first)."""
    return hashlib.sha256(prev.encode() + payload).hexdigest()


def digest_in(block: bytes) -> str | None:
    """The Hive-Digest in a raw NATS header block ("NATS/1.0\\r\\n..."), or None."""
    at = block.find(_DIGEST_AT)
    if at < 0:
        return None
    start = at + len(_DIGEST_AT)
    return block[start:start + _DIGEST_LEN].decode()


class ChainHeads:
    """subject -> (seq, digest) of the last event of that aggregate this process appended or saw.

    A writer asks `head(subject, expected_seq)`: a hit only when the remembered seq is the one the append
    expects (otherwise the append would lose its race anyway, or the entry is stale), so a wrong digest can
    never be chained on. Readers feed it: the event store's own appends and loads, and the coordinator's fold
    (`note` with each message's header block as the reader delivers it, `seen` once the event is folded)."""

    def __init__(self, max_heads: int = MAX_HEADS) -> None:
        self._heads: dict[str, tuple[int, str]] = {}
        self._noted: dict[int, str] = {}
        self._max = max_heads
        self.misses = 0  # appends that had to fetch their aggregate's last digest from the log

    def head(self, subject: str, expected_seq: int) -> str | None:
        entry = self._heads.get(subject)
        if entry is not None and entry[0] == expected_seq:
            return entry[1]
        return None

    def record(self, subject: str, seq: int, digest: str) -> None:
        heads = self._heads
        entry = heads.pop(subject, None)
        if entry is not None and entry[0] > seq:
            heads[subject] = entry  # already further on (a late, older observation)
            return
        heads[subject] = (seq, digest)
        if len(heads) > self._max:
            for stale in list(islice(heads, len(heads) - self._max + self._max // 10)):
                del heads[stale]

    def note(self, seq: int, block: bytes) -> None:
        """A stream reader's header block for `seq`, kept until the event's subject is known (`seen`)."""
        digest = digest_in(block)
        if digest is not None:
            self._noted[seq] = digest

    def seen(self, subject: str, seq: int) -> None:
        """The event at `seq` (noted before) was on `subject`: it is that aggregate's head now."""
        noted = self._noted
        digest = noted.pop(seq, None)
        # Entries for events a restarted reader delivered twice, or that were never folded, go now.
        while noted and next(iter(noted)) < seq:
            del noted[next(iter(noted))]
        if digest is not None:
            self.record(subject, seq, digest)
