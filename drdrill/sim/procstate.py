"""Process states as /proc shows them: whether signals took effect, and strays left behind.

The process tree itself (descendants, signalling them, waiting for a signal to take effect)
is `drdrill.proctree`'s. Linux only,
like the rest of the simulator (it relies on PR_SET_PDEATHSIG too).
"""

from __future__ import annotations

import os
from pathlib import Path

from drdrill.proctree import stat_fields


def live_processes_in(directory: Path) -> list[int]:
    """Return the pids of live (not zombie) processes whose working directory is under
    `directory`.

    PostgreSQL processes all work in their data directory, so this finds every stray one;
    zombies are left out because they hold nothing but a pid and are reaped by init.
    """
    root = str(directory.resolve())
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
            state = stat_fields(int(entry.name))[0]
        except OSError:
            continue
        if state != "Z" and (cwd == root or cwd.startswith(root + "/")):
            found.append(int(entry.name))
    return sorted(found)
