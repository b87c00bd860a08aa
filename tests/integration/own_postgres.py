"""A PostgreSQL server of a test's own (it will be stopped and started again on the same port and data)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core.dev.embedded_postgres import EmbeddedPostgres


@contextmanager
def own_postgres(home: Path | None = None) -> Iterator[EmbeddedPostgres]:
    """Started; stopped (and its folder removed, unless `home` was given) at the end."""
    folder = home or Path(tempfile.mkdtemp(prefix="hive-own-pg-"))
    folder.chmod(0o755)  # as root, the embedded PostgreSQL runs as an unprivileged user that must reach its data
    server = EmbeddedPostgres(folder / "pg")
    server.start()
    try:
        yield server
    finally:
        server.stop()
        if home is None:
            shutil.rmtree(folder, ignore_errors=True)
