"""Ctrl-C and SIGTERM during a drill: they abort it, except while it is putting things back.

The first interrupt cancels the drill's task, which then lifts the fault and runs the
rollback; an interrupt during that rollback is refused with a message, because stopping
half-way through putting a system back is worse than waiting for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator
from typing import Any

logger = logging.getLogger(__name__)


def uncancel() -> None:
    """Consume the cancellation that asked for the abort, so the abort itself can await."""
    task = asyncio.current_task()
    if task is not None:
        task.uncancel()


@contextlib.contextmanager
def refuse_interrupts() -> Iterator[None]:
    """While rolling back, answer Ctrl-C and SIGTERM with a message instead of stopping."""
    loop = asyncio.get_running_loop()

    def refuse() -> None:
        logger.warning("rollback in progress: not stopping now; the drill ends when it is done")

    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        # add_signal_handler raises NotImplementedError on event loops without Unix signals
        # and RuntimeError off the main thread; there the rollback simply runs unguarded.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, refuse)
            installed.append(sig)
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


def install_abort_handlers(task: asyncio.Task[Any]) -> None:
    """Make Ctrl-C and SIGTERM cancel the drill's task, which then aborts safely."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
