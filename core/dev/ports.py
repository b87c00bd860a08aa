"""Free-port discovery and waiting for a TCP listener (with a deadline, never a blind sleep)."""

from __future__ import annotations

import socket
import time


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float = 30.0, alive: object = None) -> None:
    """Block until host:port accepts a connection; `alive()` false aborts early (process died)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if callable(alive) and not alive():
                raise RuntimeError(f"process serving {host}:{port} exited before listening") from None
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s") from None
            time.sleep(0.02)
