"""A bare NATS connection for the stream reader: raw message frames, without nats-py's per-message work.

nats-py parses every message's headers into a dict, builds a Msg and hands it to a task through a
queue: about 10 µs of CPU a message, which alone held a replay under ~55k events/s on two cores. The
reader needs only each payload and its ack subject (which carries the stream and consumer sequences),
so this connection parses frames straight off the socket (~2 µs a message). It speaks the subset of
the protocol one subscriber needs: INFO, CONNECT, SUB, PUB, PING/PONG, MSG/HMSG and -ERR, with TLS
and the URL's user and password or token, as nats-py does with a plain URL. Other authentication
(nkeys, credentials files) is refused at CONNECT: add it here when Hive's settings gain it.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Protocol
from urllib.parse import ParseResult, urlparse

import orjson

READ_SIZE = 1 << 18
DEFAULT_PORT = 4222

# (subject, reply subject, header block, payload); the header block is b"" for a frame without headers.
Frame = tuple[bytes, bytes, bytes, bytes]


class WireError(ConnectionError):
    """The server refused us, said -ERR, or closed the connection."""


class Wire:
    """One connection, one subscription (sid 1). `frames` is for one task at a time; any task may write."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, max_payload: int = 1 << 20) -> None:
        self._reader, self._writer = reader, writer
        self._tail = b""
        self.max_payload = max_payload
        self._loop = asyncio.get_running_loop()
        self._out: list[bytes] = []
        self.last_read = self._loop.time()  # when bytes last came from the server

    @classmethod
    async def open(
        cls, url: ParseResult, name: str, *, credentials: ParseResult | None = None, timeout: float = 5.0
    ) -> Wire:
        """Connect to `url`'s server, authenticating with the user and password or token of `credentials`
        (default: `url` itself)."""
        host, port = url.hostname or "127.0.0.1", url.port or DEFAULT_PORT
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(host, port)
            try:
                line = await reader.readline()
                if not line.startswith(b"INFO "):
                    raise WireError(f"not a NATS server at {host}:{port}: {line[:80]!r}")
                info = orjson.loads(line[5:])
                if url.scheme == "tls" or info.get("tls_required"):
                    await writer.start_tls(ssl.create_default_context(), server_hostname=host)
                options = _connect_options(credentials or url, name)
                writer.write(b"CONNECT " + orjson.dumps(options) + b"\r\nPING\r\n")
                while not (line := await reader.readline()).startswith(b"PONG"):
                    if line.startswith(b"-ERR") or not line:
                        raise WireError(f"NATS refused the reader's connection: {line.decode(errors='replace').strip()}")
            except BaseException:
                writer.close()
                raise
        return cls(reader, writer, int(info.get("max_payload", 1 << 20)))

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def subscribe(self, subject: str) -> None:
        self._writer.write(f"SUB {subject} 1\r\n".encode())

    def publish(self, subject: str, payload: bytes, reply: str) -> None:
        self.write(f"PUB {subject} {reply} {len(payload)}\r\n".encode() + payload + b"\r\n")

    def write(self, data: bytes) -> None:
        """Queue protocol bytes. What is queued in one turn of the event loop leaves in one write: one
        system call, and one read for the server, instead of one per message."""
        if not self._out:
            self._loop.call_soon(self._flush)
        self._out.append(data)

    def _flush(self) -> None:
        out, self._out = self._out, []
        if out and not self._writer.is_closing():
            self._writer.write(b"".join(out) if len(out) > 1 else out[0])

    def _flush_now(self) -> None:
        if self._out:
            self._flush()  # the scheduled call then finds nothing to send

    async def frames(self) -> list[Frame]:
        """The next message frames, in order, waiting for at least one; PINGs are answered on the way."""
        while True:
            chunk = await self._reader.read(READ_SIZE)
            if not chunk:
                raise WireError("the NATS server closed the connection")
            self.last_read = self._loop.time()
            buf = self._tail + chunk if self._tail else chunk
            out: list[Frame] = []
            self._tail = buf[self._parse(buf, out):]
            if out:
                return out

    def _parse(self, buf: bytes, out: list[Frame]) -> int:
        """Append every whole frame in `buf` to `out`; returns where the first incomplete one starts."""
        pos, size = 0, len(buf)
        while (eol := buf.find(b"\r\n", pos)) >= 0:
            op = buf[pos:pos + 4]
            if op == b"HMSG" or op == b"MSG ":
                # HMSG <subject> <sid> [reply] <header bytes> <total bytes> / MSG <subject> <sid> [reply] <bytes>
                args = buf[pos:eol].split(b" ")
                subject = args[1]
                total = int(args[-1])
                if op == b"HMSG":
                    headers, reply = int(args[-2]), args[3] if len(args) == 6 else b""
                else:
                    headers, reply = 0, args[3] if len(args) == 5 else b""
                start = eol + 2
                end = start + total
                if end + 2 > size:
                    break
                out.append((subject, reply, buf[start:start + headers], buf[start + headers:end]))
                pos = end + 2
            elif op == b"PING":
                self._writer.write(b"PONG\r\n")
                pos = eol + 2
            elif op == b"-ERR":
                raise WireError(f"NATS: {buf[pos + 5:eol].decode(errors='replace')}")
            else:  # +OK, PONG, INFO (cluster updates): nothing to do
                pos = eol + 2
        return pos

    @property
    def closing(self) -> bool:
        return self._writer.is_closing()

    def abort(self) -> None:
        """Drop the connection now, unsent data included: for a peer that stopped answering."""
        self._writer.transport.abort()

    async def close(self, timeout: float = 1.0) -> None:
        """Close after sending what is queued; abort if that does not finish within `timeout` (a peer that
        stopped reading would otherwise hold the close, and whoever awaits it, forever)."""
        self._flush_now()
        self._writer.close()
        try:
            async with asyncio.timeout(timeout):
                await self._writer.wait_closed()
        except TimeoutError:
            self.abort()
        except (OSError, ssl.SSLError):
            pass  # closing a connection that already broke


class _Connected(Protocol):
    @property
    def connected_url(self) -> ParseResult | None: ...


def server_of(nc: _Connected, configured_url: str | None) -> tuple[ParseResult, ParseResult | None]:
    """Where a Wire beside nats-py's connection `nc` should go: (server address, credentials to use).

    The server nc is connected to; a server nats-py found through the cluster comes without the
    configured URL's credentials, so those are lent. With nc between servers, the configured URL."""
    url = nc.connected_url
    # HIVE_NATS_URL may list several servers (core/store/connect.py): the first carries the credentials.
    configured = urlparse(configured_url.split(",")[0].strip()) if configured_url else None
    if url is None:
        if configured is None:
            raise WireError("not connected to NATS")
        return configured, None
    return url, configured if configured is not None and not url.username else None


def _connect_options(url: ParseResult, name: str) -> dict[str, object]:
    options: dict[str, object] = {
        "verbose": False, "pedantic": False, "headers": True, "no_responders": True, "protocol": 1,
        "lang": "python-hive-reader", "version": "1", "name": name,
    }
    # As nats-py takes them from a URL (not percent-decoded), so both connections present the same secret.
    if url.username is not None and url.password is not None:
        options["user"], options["pass"] = url.username, url.password
    elif url.username is not None:
        options["auth_token"] = url.username
    return options
