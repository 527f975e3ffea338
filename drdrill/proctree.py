"""Process trees read from /proc: a fault that kills a server kills its workers too.

A server's workers are its children (PostgreSQL makes each one a session leader, so a signal
to the process group would miss them). A machine or container dying takes them all at once;
killing only the parent would leave workers answering clients for a while and make the outage
look shorter than it is.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Sequence
from pathlib import Path


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


def kill_tree(pid: int) -> None:
    """SIGKILL `pid` and every descendant, freezing the parent first so it cannot fork more."""
    os.kill(pid, signal.SIGSTOP)
    workers = descendants(pid)
    os.kill(pid, signal.SIGKILL)
    signal_all(workers, signal.SIGKILL)


def pause_tree(pid: int) -> None:
    """SIGSTOP `pid` and every descendant: it holds its sockets but answers nothing."""
    os.kill(pid, signal.SIGSTOP)
    signal_all(descendants(pid), signal.SIGSTOP)


def resume_tree(pid: int) -> None:
    """SIGCONT the descendants of `pid`, then `pid`."""
    signal_all(descendants(pid), signal.SIGCONT)
    os.kill(pid, signal.SIGCONT)
