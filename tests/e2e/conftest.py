"""Fixtures of the end-to-end tests: the services as real processes."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.settings import Settings
from tests.e2e.processes import ProcessStack
from tests.helpers import wait_until


@pytest.fixture
async def stack(settings: Settings) -> AsyncIterator[ProcessStack]:
    """Coordinator, projections and gateway as processes, once the gateway is ready; sidecars are the test's."""
    home = Path(tempfile.mkdtemp(prefix="hive-e2e-"))
    s = ProcessStack(settings, home)
    for service in ("coordinator", "projections", "gateway"):
        s.start(service)
    await wait_until(s.ready, timeout=60, what="gateway /ready")
    yield s
    s.stop_all()
