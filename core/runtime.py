"""Runs a long-lived service coroutine until SIGINT/SIGTERM, then lets it drain."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from core.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def install_uvloop() -> None:
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


# The cyclic collector's young generation by default runs every 700 allocations net; a service that
# allocates a few objects per message would run it thousands of times a second, each pass also paying
# for the older objects promoted meanwhile. Reference counting frees almost everything here (messages,
# events, rows); the collector only has to catch the odd cycle, so it may run far less often.
GC_THRESHOLDS = (50_000, 20, 20)


def tune_gc() -> None:
    gc.set_threshold(*GC_THRESHOLDS)


def run_service(main: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    """`main(stop)` runs until `stop` is set by a signal; it is expected to drain and return."""
    install_uvloop()
    tune_gc()

    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await main(stop)

    asyncio.run(runner())


async def retrying(op: Callable[[], Awaitable[T]], what: str, *, attempts: int | None = None,
                   max_delay: float = 5.0, only: tuple[type[BaseException], ...] = (Exception,)) -> T:
    """`op()` until it succeeds, backing off from 0.1 s to `max_delay` (a server may still be starting or
    electing a leader); after `attempts` tries (None: never) the last error is raised, and at once an error
    that is not one of `only`."""
    delay, attempt = 0.1, 0
    while True:
        attempt += 1
        try:
            return await op()
        except only as err:
            if attempts is not None and attempt >= attempts:
                raise
            log.warning("%s failed (%s); retrying in %.1fs", what, err, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_delay)


async def cancel_and_wait(*tasks: asyncio.Task[Any]) -> None:
    """Cancel tasks and wait until they have ended.

    Cancelling again each second matters on Python 3.11: `asyncio.wait_for` (inside nats-py's requests)
    can swallow a cancel that races with a reply arriving, and a loop would then run on forever.
    """
    pending = {t for t in tasks if not t.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=1.0)
    for task in tasks:
        if not task.cancelled():
            task.exception()  # retrieved, so asyncio does not log it as never retrieved
