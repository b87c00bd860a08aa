"""A real HTTP/1.1 server (asyncio streams, optionally TLS) for the http executor's tests.

    async with HttpTarget() as target:          # or HttpTarget(tls=True): https with a throwaway CA
        target.url + "/echo?x=1"                 # 200 JSON: the request as the server saw it

Paths: /echo (JSON of method, path, query, headers, body), /text (text/plain), /status/<code> (that status, a JSON
body), /redirect?to=<url>&code=<3xx>, /bytes/<n> (n bytes of 'x'), /chunked (a chunked JSON body), /hang (never
answers; counts the clients that hang up), /not-json (says application/json, is not).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ssl
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson


class HttpTarget:
    def __init__(self, *, tls: bool = False) -> None:
        self.tls = tls
        self.requests: list[dict[str, Any]] = []
        # Clients that hung up on /hang (closed their end while waiting for an answer).
        self.hangups = 0
        self.port = 0
        self.ca_file = ""  # with tls: the PEM a client must trust
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._dir: tempfile.TemporaryDirectory[str] | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    async def __aenter__(self) -> HttpTarget:
        context = self._tls_context() if self.tls else None
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=context)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        await self._server.wait_closed()
        if self._dir is not None:
            self._dir.cleanup()

    def _tls_context(self) -> ssl.SSLContext:
        self._dir = tempfile.TemporaryDirectory(prefix="hive-http-target-")
        cert, key = self_signed(Path(self._dir.name))
        self.ca_file = str(cert)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        return context

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *lines = head.decode("latin-1").split("\r\n")
            method, target, _version = request_line.split(" ", 2)
            headers: dict[str, str] = {}
            for line in lines:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            parts = urlsplit(target)
            seen = {"method": method, "path": parts.path, "query": parse_qs(parts.query), "headers": headers,
                    "body": body.decode("utf-8", errors="replace")}
            self.requests.append(seen)
            if parts.path == "/hang":
                await reader.read()  # returns at the client's end of file: it gave up on us
                self.hangups += 1
                return
            await self._answer(writer, method, parts.path, parse_qs(parts.query), seen)
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _answer(self, writer: asyncio.StreamWriter, method: str, path: str, query: dict[str, list[str]],
                      seen: dict[str, Any]) -> None:
        if path == "/chunked":
            payload = orjson.dumps({"chunked": True})
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
            for piece in (payload[:5], payload[5:]):
                writer.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            writer.write(b"0\r\n\r\n")
            await writer.drain()
            return
        status, content_type, body, extra = 200, "application/json", orjson.dumps(seen), ""
        if path == "/text":
            content_type, body = "text/plain; charset=utf-8", "plain text ✓".encode()
        elif path.startswith("/status/"):
            status = int(path.rsplit("/", 1)[1])
            body = orjson.dumps({"error": f"status {status}", "method": method})
        elif path == "/redirect":
            status, extra = int(query.get("code", ["302"])[0]), f"Location: {query['to'][0]}\r\n"
            body = b""
        elif path.startswith("/bytes/"):
            content_type, body = "application/octet-stream", b"x" * int(path.rsplit("/", 1)[1])
        elif path == "/not-json":
            body = b"<html>surprise</html>"
        length = f"Content-Length: {len(body)}\r\n"  # for HEAD too, as servers do, with no body after it
        writer.write(f"HTTP/1.1 {status} Whatever\r\nContent-Type: {content_type}\r\n{length}{extra}"
                     f"X-Target: yes\r\nConnection: close\r\n\r\n".encode())
        if method != "HEAD":
            writer.write(body)
        await writer.drain()


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, signed by itself (so it is its own CA), and its key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import ipaddress

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hive test target")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path
