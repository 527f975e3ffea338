"""What every probe is: one op per tick against a target, with a three-valued outcome.

The runner never sees a driver's exception. Each probe module translates its driver's
exceptions at its edge, with a table per operation, into an `OpResult`: `ok` (it took
effect), `fail` (it certainly did not) or `info` (unknown: it may have landed).
"""

from __future__ import annotations

import abc
import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    from drdrill.drills.schema import ProbeSpec


class Outcome(enum.StrEnum):
    OK = "ok"
    FAIL = "fail"
    INFO = "info"


class ErrorKind(enum.StrEnum):
    """Why an op did not succeed, as journaled in the op's `e` field."""

    TIMEOUT = "timeout"
    REFUSED = "refused"
    CONN_LOST = "conn_lost"
    READ_ONLY = "read_only"
    REJECTED = "rejected"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class OpResult:
    """The outcome of one op, plus a probe-specific integer (see docs/journal.md, key `v`).

    `extra` holds the few probe-specific keys docs/journal.md lets an op carry after `v`
    (a DNS op's `a` and `ttl`); None for every other probe.
    """

    outcome: Outcome
    error: ErrorKind | None = None
    value: int | None = None
    detail: str | None = None
    extra: dict[str, Any] | None = None

    @classmethod
    def ok(cls, value: int | None = None) -> OpResult:
        return cls(Outcome.OK, None, value)

    @classmethod
    def fail(cls, error: ErrorKind, detail: str | None = None) -> OpResult:
        return cls(Outcome.FAIL, error, None, detail)

    @classmethod
    def info(cls, error: ErrorKind, detail: str | None = None) -> OpResult:
        return cls(Outcome.INFO, error, None, detail)


@dataclass
class Route:
    """Where a probe sends its ops now; a failover step switches it, the probe follows.

    `version` rises at every switch so that a probe can tell, before its next op, that it must
    drop its connection and connect to the new target.
    """

    name: str
    target: Any
    version: int = 0
    history: list[str] = field(default_factory=list)

    def switch(self, name: str, target: Any) -> str:
        """Point at a new target; returns the name of the previous one."""
        previous = self.name
        self.history.append(previous)
        self.name = name
        self.target = target
        self.version += 1
        return previous


@dataclass(frozen=True)
class FinalRead:
    """Every heartbeat `seq` of one probe found in a store (duplicates repeated), sorted."""

    seqs: np.ndarray
    target: str


class Probe(abc.ABC):
    """One probe: `open`, then one `op` per tick, then `close`.

    `op` must not raise for anything the target does: it returns an `OpResult`. The ticker
    cancels an op that outlives its timeout and records `timeout_outcome` for it.
    """

    kind: ClassVar[str]
    role: ClassVar[str] = "read"
    timeout_outcome: ClassVar[Outcome] = Outcome.FAIL

    def __init__(self, spec: ProbeSpec, route: Route, run_id: str) -> None:
        self.spec = spec
        self.name = spec.name
        self.route = route
        self.run_id = run_id

    async def open(self) -> None:  # noqa: B027 - optional hook
        """Prepare (connect, create what the probe needs); failures here are not fatal."""

    @abc.abstractmethod
    async def op(self, seq: int) -> OpResult:
        """Do one attempt for tick `seq` and say what happened."""

    async def on_timeout(self) -> None:  # noqa: B027 - optional hook
        """Called after an op was cancelled by its timeout: drop state that may be wedged."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; never raises."""


class WriteProbe(Probe):
    """A probe that writes heartbeats `(run_id, probe, seq, sent_at)` and can read them back.

    A write that timed out may have landed, so its timeout is `info`, never `fail`.
    """

    role: ClassVar[str] = "write"
    timeout_outcome: ClassVar[Outcome] = Outcome.INFO
    store_kind: ClassVar[str]
    replication: ClassVar[str] = "native"

    @abc.abstractmethod
    async def final_read(self) -> FinalRead:
        """Read every heartbeat of this run and probe from the current target.

        Raises `TargetError` when the store cannot be read.
        """


def seqs_to_ranges(seqs: np.ndarray) -> tuple[list[list[int]], list[list[int]]]:
    """Compress sorted seqs into inclusive `[first, last]` ranges and `[seq, times]` dups."""
    if seqs.size == 0:
        return [], []

    unique, counts = np.unique(seqs.astype(np.int64), return_counts=True)
    dups = [[int(s), int(n)] for s, n in zip(unique[counts > 1], counts[counts > 1], strict=True)]

    breaks = np.flatnonzero(np.diff(unique) != 1)
    starts = np.concatenate(([unique[0]], unique[breaks + 1]))
    ends = np.concatenate((unique[breaks], [unique[-1]]))
    ranges = [[int(a), int(b)] for a, b in zip(starts, ends, strict=True)]
    return ranges, dups


def extra_fields(result: OpResult) -> dict[str, Any]:
    """The journal fields an op result contributes (`o`, `e`, `v`)."""
    return {
        "o": result.outcome.value,
        "e": result.error.value if result.error else None,
        "v": result.value,
    }
