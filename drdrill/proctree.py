"""Process trees read from /proc: a fault that kills a server kills its workers too.

A server's workers are its children (PostgreSQL makes each one a session leader, so a signal
to the process group would miss them). A machine or container dying takes them all at once;
killing only the parent would leave workers answering clients for a while and make the outage
look shorter than it is.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable, Sequence
from pathlib import Path

logger = logging.getLogger(__name__)

# How long a fault waits for its signal to take effect before saying so in the log.
SETTLE_SECONDS = 5.0


def stat_fields(pid: int) -> list[str]:
    """Fields of /proc/PID/stat after the command name, starting with the state."""
    text = Path(f"/proc/{pid}/stat").read_text()
    # The command name is in parentheses and may itself hold spaces or parentheses.
    return text[text.rindex(")") + 2 :].split()


def descendants(pid: int) -> list[int]:
    """The pids of every live descendant of `pid`."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int(stat_fields(int(entry.name))[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(parent, []).append(int(entry.name))

    found: list[int] = []
    pending = list(children.get(pid, []))
    while pending:
        child = pending.pop()
        found.append(child)
        pending.extend(children.get(child, []))
    return found


def signal_all(pids: Sequence[int], sig: int) -> None:
    """Send `sig` to each pid, skipping those already gone."""
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            continue


def is_dead(pid: int) -> bool:
    """True if `pid` is gone or a zombie (dead, waiting for its parent or init to reap it)."""
    try:
        return stat_fields(pid)[0] == "Z"
    except OSError:
        return True


def is_stopped(pid: int) -> bool:
    """True if `pid` is stopped by a signal (state T), or dead."""
    try:
        return stat_fields(pid)[0] in ("T", "Z")
    except OSError:
        return True


def wait_until(pids: Sequence[int], settled: Callable[[int], bool], within: float) -> list[int]:
    """Wait up to `within` seconds until `settled(pid)` holds for every pid (`is_dead`,
    `is_stopped`); return the pids for which it still does not.

    A signal takes effect when its target next runs, so /proc may show a killed or stopped
    process as running for a moment after kill() returned.
    """
    deadline = time.monotonic() + within
    pending = [pid for pid in pids if not settled(pid)]
    while pending and time.monotonic() < deadline:
        time.sleep(0.001)
        pending = [pid for pid in pending if not settled(pid)]
    return pending


def kill_tree(pid: int) -> None:
    """SIGKILL `pid` and every descendant; returns once all of them are dead.

    The parent is frozen first so that it cannot fork a worker we would not see; the wait
    makes the instant the caller journals (T0) the instant the processes were really gone.
    """
    os.kill(pid, signal.SIGSTOP)
    workers = descendants(pid)
    os.kill(pid, signal.SIGKILL)
    signal_all(workers, signal.SIGKILL)
    _settle([pid, *workers], is_dead, "dead")


def pause_tree(pid: int) -> None:
    """SIGSTOP `pid` and every descendant; returns once all of them are stopped."""
    os.kill(pid, signal.SIGSTOP)
    workers = descendants(pid)
    signal_all(workers, signal.SIGSTOP)
    _settle([pid, *workers], is_stopped, "stopped")


def resume_tree(pid: int) -> None:
    """SIGCONT the descendants of `pid`, then `pid`."""
    signal_all(descendants(pid), signal.SIGCONT)
    os.kill(pid, signal.SIGCONT)


def _settle(pids: list[int], settled: Callable[[int], bool], state: str) -> None:
    pending = wait_until(pids, settled, SETTLE_SECONDS)
    if pending:
        logger.warning("processes not %s after %.0f s pids=%s", state, SETTLE_SECONDS, pending)
