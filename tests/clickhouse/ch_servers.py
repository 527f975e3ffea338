"""Helpers of the ClickHouse tests: which servers this machine can run, and starting one."""

from __future__ import annotations

import tempfile
from pathlib import Path

from drdrill.sim.chnode import Backend, ChNode, find_backend

# The chdb endpoint always; a real `clickhouse server` too when the machine has the binary
# (CLICKHOUSE_BIN or PATH).
BACKENDS = [Backend("chdb")] + ([found] if (found := find_backend()).binary else [])


def make_workdir() -> Path:
    # Not pytest's tmp_path: its parent is mode 0700, which an unprivileged server user could
    # not traverse.
    workdir = Path(tempfile.mkdtemp(prefix="drdrill-ch-"))
    workdir.chmod(0o711)
    return workdir


async def start_node(workdir: Path, backend: Backend, name: str = "primary") -> ChNode:
    """Start one server named `name` under `workdir`; the caller stops it."""
    logs = workdir / "logs"
    logs.mkdir(exist_ok=True)
    node = ChNode(name, workdir / name, backend, logs)
    await node.start()
    return node
