"""The tamper-evident digest chain: each event's digest covers its payload and the previous event of its
aggregate, and travels in its headers; ChainHeads remembers each aggregate's last (seq, digest) for writers.

digest(event) = sha256(digest(previous event of its aggregate subject) + stored payload bytes), hex, or with
an audit key (HIVE_AUDIT_KEY) HMAC-SHA256 under that key of the same bytes; the first event of an aggregate
chains to GENESIS. Every append carries `Hive-Digest` (its own) and `Hive-Prev-Digest`
(what it chains to), so a verifier can tell an altered event (its digest does not match its content) from a
removed one (its successor names a digest the log no longer holds) and from an inserted one (the next genuine
event names the digest before it). The chain needs no secret: it shows changes made without recomputing the
digests of every later event of the aggregate; keyed, it shows changes made by anyone without the key, however
many digests they recompute. `hive audit verify` checks it (core/audit/verify.py).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from itertools import islice

GENESIS = "0" * 64
DIGEST_HEADER = "Hive-Digest"
PREV_HEADER = "Hive-Prev-Digest"
_DIGEST_AT = b"\r\nHive-Digest: "
_DIGEST_LEN = 64
# Aggregates remembered (most recently appended or seen last); older ones are fetched again when written.
MAX_HEADS = 200_000
# Header blocks noted and not folded yet; past this, those before the latest fold are dropped.
NOTED_MAX = 50_000


def link(prev: str, payload: bytes) -> str:
    """The digest of an event whose aggregate's previous event has digest `prev` (GENESIS for the first)."""
    return hashlib.sha256(prev.encode() + payload).hexdigest()


def digester(key: str = "") -> Callable[[str, bytes], str]:
    """`link`, or with an audit key its keyed form: HMAC-SHA256 of the same bytes, so nobody without the key can
    make a digest that verifies. The key's HMAC state is made once and copied per event."""
    if not key:
        return link
    base = hmac.new(key.encode(), digestmod=hashlib.sha256)

    def keyed(prev: str, payload: bytes) -> str:
        mac = base.copy()
        mac.update(prev.encode())
        mac.update(payload)
        return mac.hexdigest()

    return keyed


def digest_in(block: bytes) -> str | None:
    """The Hive-Digest in a raw NATS header block ("NATS/1.0\\r\\n..."), or None."""
    at = block.find(_DIGEST_AT)
    if at < 0:
        return None
    start = at + len(_DIGEST_AT)
    return block[start:start + _DIGEST_LEN].decode()


class ChainHeads:
    """aggregate id -> (seq, digest) of the last event of that aggregate this process appended or saw.

    A writer asks `head(aggregate_id, expected_seq)`: a hit only when the remembered seq is the one the append
    expects. A stream sequence names exactly one message, so a hit is always the right aggregate's digest (even
    if two aggregates of different kinds shared an id), and a stale entry is a miss, never a wrong link.
    Fed by the event store's own appends and loads, and by the coordinator's fold: `note` gets each message's
    raw header block as the reader delivers it, `seen` the event's aggregate once it is folded, and only then,
    for an event this process did not append itself, is the header parsed."""

    def __init__(self, max_heads: int = MAX_HEADS) -> None:
        self._heads: dict[str, tuple[int, str]] = {}
        self._noted: dict[int, bytes] = {}
        self._max = max_heads
        self.misses = 0  # appends that had to fetch their aggregate's last digest from the log

    def head(self, key: str, expected_seq: int) -> str | None:
        entry = self._heads.get(key)
        if entry is not None and entry[0] == expected_seq:
            return entry[1]
        return None

    def record(self, key: str, seq: int, digest: str) -> None:
        """`key`'s event at `seq` has `digest`; callers record only what is newer than what they recorded."""
        heads = self._heads
        heads[key] = (seq, digest)
        if len(heads) > self._max:
            # The oldest entries first (dicts keep insertion order): a miss costs one read of the log.
            for stale in list(islice(heads, self._max // 10)):
                del heads[stale]

    def note(self, seq: int, block: bytes) -> None:
        """A stream reader's raw header block for `seq`, kept until the event is folded (`seen`)."""
        self._noted[seq] = block

    def seen(self, key: str, seq: int) -> None:
        """The event at `seq` (noted before) belongs to aggregate `key`: it is that aggregate's head now."""
        noted = self._noted
        block = noted.pop(seq, None)
        if len(noted) > NOTED_MAX:  # events noted but never folded (undecodable, or read twice): drop the old
            for old in [s for s in noted if s < seq]:
                del noted[old]
        if block is None:
            return
        entry = self._heads.get(key)
        if entry is not None and entry[0] >= seq:
            return  # appended by this process: recorded when it was stored
        digest = digest_in(block)
        if digest is not None:
            self.record(key, seq, digest)
