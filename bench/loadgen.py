"""A fast HTTP/1.1 keep-alive load generator: N connections on raw asyncio protocols, per-request latency.

httpx spends ~200 µs of CPU per request, so it cannot load a server at 10k req/s from one core. Here each
connection is a callback-driven protocol that sends its next request from `data_received`, with no
coroutine or parser object per request. `run_in_process` runs it in a child process so the load's CPU
does not share a core (or a GIL) with whatever orchestrates the benchmark.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import multiprocessing.connection
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

# A request factory gets the request's global index and returns the whole request (head and body).
RequestFactory = Callable[[int], bytes]


@dataclass
class LoadResult:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    client_cpu_us: float = 0.0  # the load generator's own CPU per request: what it takes from the server's cores

    def as_dict(self, prefix: str) -> dict[str, float]:
        return {f"{prefix}_rps": self.rps, f"{prefix}_p50_ms": self.p50_ms, f"{prefix}_p99_ms": self.p99_ms}


def build_request(method: str, path: str, host: str, headers: dict[str, str] | None = None,
                  body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class _Shared:
    """State all connections of one run share: the request source, the clock, the samples."""

    def __init__(self, source: Sequence[bytes] | RequestFactory, measure_from: float, stop_at: float) -> None:
        self.source = source
        self.next_index = 0
        self.measure_from = measure_from
        self.stop_at = stop_at
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}
        self.errors = 0
        self.open = 0
        self.all_closed = asyncio.get_running_loop().create_future()

    def next_request(self) -> bytes:
        i = self.next_index
        self.next_index += 1
        source = self.source
        if callable(source):
            return source(i)
        return source[i % len(source)]


class _Connection(asyncio.Protocol):
    """One keep-alive connection with one request in flight; parses Content-Length framed responses."""

    def __init__(self, shared: _Shared) -> None:
        self.shared = shared
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.sent_at = 0.0
        self.need = -1
        self.status = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's transports subclass no asyncio class
        self.shared.open += 1
        self._send()

    def _send(self) -> None:
        assert self.transport is not None
        now = time.perf_counter()
        if now >= self.shared.stop_at:
            self.transport.close()
            return
        self.sent_at = now
        self.transport.write(self.shared.next_request())

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        if self.need < 0:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buf[:end]).lower()
            self.status = int(head[9:12])
            at = head.find(b"\r\ncontent-length:")
            if at < 0:
                # Every response the gateway sends is Content-Length framed; anything else is a failure.
                self.shared.errors += 1
                assert self.transport is not None
                self.transport.close()
                return
            stop = head.find(b"\r\n", at + 2)
            self.need = end + 4 + int(head[at + 17:stop if stop > 0 else None])
        if len(buf) < self.need:
            return
        done = time.perf_counter()
        shared = self.shared
        if self.sent_at >= shared.measure_from:
            shared.latencies.append(done - self.sent_at)
            shared.statuses[self.status] = shared.statuses.get(self.status, 0) + 1
        del buf[:self.need]
        self.need = -1
        self._send()

    def connection_lost(self, exc: Exception | None) -> None:
        shared = self.shared
        if exc is not None or self.need >= 0:
            shared.errors += 1
        shared.open -= 1
        if shared.open == 0 and not shared.all_closed.done():
            shared.all_closed.set_result(None)


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


async def run_load(host: str, port: int, source: Sequence[bytes] | RequestFactory, *, connections: int = 64,
                   duration: float = 10.0, warmup: float = 1.0) -> LoadResult:
    """Keep `connections` requests in flight for `warmup + duration` seconds; figures cover `duration` only."""
    loop = asyncio.get_running_loop()
    cpu_start = time.process_time()
    start = time.perf_counter()
    shared = _Shared(source, start + warmup, start + warmup + duration)
    await asyncio.gather(*(loop.create_connection(lambda: _Connection(shared), host, port)
                           for _ in range(connections)))
    await asyncio.wait_for(shared.all_closed, warmup + duration + 30)
    # The last responses arrive a little after stop_at; rps counts them over the time they took.
    elapsed = max(time.perf_counter() - shared.measure_from, 1e-9)
    cpu = time.process_time() - cpu_start
    latencies = sorted(shared.latencies)
    total = max(shared.next_index, 1)
    return LoadResult(
        requests=len(latencies),
        seconds=elapsed,
        rps=len(latencies) / elapsed,
        p50_ms=_percentile(latencies, 0.50) * 1000,
        p99_ms=_percentile(latencies, 0.99) * 1000,
        max_ms=(latencies[-1] if latencies else float("nan")) * 1000,
        statuses=shared.statuses,
        errors=shared.errors,
        client_cpu_us=cpu / total * 1e6,
    )


def _child(conn: multiprocessing.connection.Connection, host: str, port: int,
           source: Sequence[bytes] | RequestFactory, connections: int, duration: float, warmup: float) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    try:
        result = asyncio.run(run_load(host, port, source, connections=connections, duration=duration,
                                      warmup=warmup))
        conn.send(result)
    except BaseException as err:  # the parent re-raises it
        conn.send(err)
    finally:
        conn.close()


async def run_in_process(host: str, port: int, source: Sequence[bytes] | RequestFactory, *,
                         connections: int = 64, duration: float = 10.0, warmup: float = 1.0) -> LoadResult:
    """`run_load` in a fresh child process (a factory must then be a module-level function)."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, host, port, source, connections, duration, warmup), daemon=True)
    proc.start()
    child.close()
    try:
        answer = await asyncio.to_thread(parent.recv)
    finally:
        proc.join(10)
        if proc.is_alive():
            proc.kill()
            proc.join()
    if isinstance(answer, BaseException):
        raise answer
    assert isinstance(answer, LoadResult)
    return answer
