"""An open-loop paced HTTP/1.1 client: request i is sent at start + i/rate on a free keep-alive connection.

httpx queues thousands of waiting requests in its pool at a quadratic cost, which made the pacing itself
the bottleneck; here a request waits only for its time and a free connection.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import orjson


class _Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        return status, await self.reader.readexactly(length)


def post_json(path: str, host: str, token: str, body: object) -> bytes:
    data = orjson.dumps(body)
    return (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n").encode() + data


async def run_paced(host: str, port: int, requests: Callable[[int], bytes], n: int, rate: float,
                    on_response: Callable[[int, bytes, float], None], connections: int = 32) -> None:
    """Send n requests at `rate`/s; on_response(status, body, perf_counter at arrival) for each."""
    free: asyncio.Queue[_Conn] = asyncio.Queue()
    for _ in range(connections):
        free.put_nowait(_Conn(*await asyncio.open_connection(host, port)))
    start = time.perf_counter()
    running: set[asyncio.Task[None]] = set()

    async def one(raw: bytes) -> None:
        conn = await free.get()
        status, body = await conn.request(raw)
        on_response(status, body, time.perf_counter())
        free.put_nowait(conn)

    for i in range(n):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(requests(i)))
        running.add(task)
        task.add_done_callback(running.discard)
    await asyncio.gather(*running)
    while not free.empty():
        free.get_nowait().writer.close()
