"""Faults: each has an inject and a lift, registered under its `kind`.

The runner journals the instant an inject returns as T0; a fault's lift runs at the end of
the drill and on abort, and must be safe to call when the inject failed or never ran.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drdrill.errors import FaultError
from drdrill.proctree import kill_tree, pause_tree, resume_tree

logger = logging.getLogger(__name__)


@dataclass
class Fault:
    """An injectable fault: `inject` and `lift` coroutines and the target shown in the plan."""

    kind: str
    target: str
    inject: Callable[[], Awaitable[None]]
    lift: Callable[[], Awaitable[None]]
    lift_after: float | None = None  # seconds after inject; None: lifted at teardown


FaultFactory = Callable[[Any], Fault]
_FAULTS: dict[str, FaultFactory] = {}


def register_fault(*kinds: str) -> Callable[[FaultFactory], FaultFactory]:
    """Register the factory of one or more fault kinds (a decorator)."""

    def register(factory: FaultFactory) -> FaultFactory:
        for kind in kinds:
            _FAULTS[kind] = factory
        return factory

    return register


def build_fault(spec: Any) -> Fault:
    """The fault a spec describes; raises `FaultError` for a kind with no implementation."""
    try:
        return _FAULTS[spec.kind](spec)
    except KeyError:
        raise FaultError(f"no implementation for fault kind {spec.kind!r}") from None


def resolve_pid(spec: Any) -> int:
    """The pid a process fault aims at: `pid`, or the first line of `pid_file`."""
    if spec.pid is not None:
        return int(spec.pid)
    if spec.pid_file is None:
        raise FaultError(f"{spec.kind} {spec.label}: give pid or pid_file")

    try:
        first = Path(spec.pid_file).read_text().splitlines()[0]
        return int(first.strip())
    except (OSError, IndexError, ValueError) as exc:
        raise FaultError(
            f"{spec.kind} {spec.label}: cannot read a pid from {spec.pid_file}: {exc}"
        ) from exc


@register_fault("process.kill", "process.pause")
def process_fault(spec: Any) -> Fault:
    """SIGKILL (nothing to lift) or SIGSTOP (lifted by SIGCONT) of a process and its workers."""
    pid_holder: dict[str, int] = {}
    killing = spec.kind == "process.kill"

    async def inject() -> None:
        pid = resolve_pid(spec)
        pid_holder["pid"] = pid
        try:
            kill_tree(pid) if killing else pause_tree(pid)
        except ProcessLookupError as exc:
            raise FaultError(f"{spec.kind} {spec.label}: no process {pid}") from exc
        except PermissionError as exc:
            raise FaultError(f"{spec.kind} {spec.label}: not allowed to signal {pid}") from exc

    async def lift() -> None:
        pid = pid_holder.get("pid")
        if killing or pid is None:
            return
        try:
            resume_tree(pid)
        except ProcessLookupError:
            logger.warning("fault lift: process gone kind=%s pid=%d", spec.kind, pid)

    where = f"pid {spec.pid}" if spec.pid else spec.pid_file
    return Fault(spec.kind, f"{spec.label} ({where})", inject, lift, spec.pause_seconds)
