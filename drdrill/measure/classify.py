"""Split the ops frame into one time-ordered set of arrays per probe, and classify each op.

Ops are journaled when they complete, so the frame is in completion order; every measurement
of a probe needs its ops in invoke order (the order the probe issued them). An op is good iff
it is `ok`: `fail` certainly did not take effect and `info` may not have, and a service that
answers "maybe" is not available, so both count against recovery.

A probe's columns are gathered from the frame when first used: a read probe never needs its
`s`, a write probe its `v`, and on a ten-million-op journal each gathered column is tens of
megabytes of fresh memory.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

OK, FAIL, INFO = 0, 1, 2
_OUTCOMES = {"ok": OK, "fail": FAIL, "info": INFO}


@dataclass(frozen=True)
class _Frame:
    """The frame's columns as numpy arrays (views), and the maps of its category codes."""

    s: np.ndarray
    i: np.ndarray
    c: np.ndarray
    v: np.ndarray
    outcome_codes: np.ndarray
    outcome_map: np.ndarray
    error_codes: np.ndarray
    timeout_code: int
    target_codes: np.ndarray


class ProbeOps:
    """One probe's ops sorted by invoke time `i` (ns); every array has one element per op.

    `outcome` holds OK, FAIL or INFO; `timeout` is True where the error kind is `timeout`;
    `target` indexes `targets` (-1 when the op has no target); `v` is NaN where null. Ops with
    the same invoke time keep their file order.
    """

    def __init__(self, name: str, frame: _Frame, rows: np.ndarray, targets: tuple[str, ...],
                 invoked: np.ndarray) -> None:
        self.name = name
        self.targets = targets
        self.i = invoked
        self._frame = frame
        self._rows = rows

    @classmethod
    def empty(cls, name: str) -> ProbeOps:
        """The ops of a declared probe that journaled none."""
        ints = np.zeros(0, dtype=np.int64)
        codes = np.zeros(0, dtype=np.int8)
        frame = _Frame(s=ints, i=ints, c=ints, v=np.zeros(0), outcome_codes=codes,
                       outcome_map=np.array([FAIL], dtype=np.int8), error_codes=codes,
                       timeout_code=-2, target_codes=codes)
        return cls(name, frame, ints, (), ints)

    def __len__(self) -> int:
        return len(self._rows)

    @cached_property
    def c(self) -> np.ndarray:
        """Completion times (ns)."""
        return self._take(self._frame.c)

    @cached_property
    def s(self) -> np.ndarray:
        """Sequence numbers."""
        return self._take(self._frame.s)

    @cached_property
    def v(self) -> np.ndarray:
        """The probe-specific value (float, NaN where null)."""
        return self._take(self._frame.v)

    @cached_property
    def outcome(self) -> np.ndarray:
        """OK, FAIL or INFO per op."""
        return self._take(self._frame.outcome_map, self._take(self._frame.outcome_codes))

    @cached_property
    def good(self) -> np.ndarray:
        """True for the ops that count as available (`ok`)."""
        good: np.ndarray = self.outcome == OK
        return good

    @cached_property
    def timeout(self) -> np.ndarray:
        """True where the op's error kind is `timeout`."""
        timed_out: np.ndarray = self._take(self._frame.error_codes) == self._frame.timeout_code
        return timed_out

    @cached_property
    def target(self) -> np.ndarray:
        """Index into `targets` of the target each op went to (-1: none)."""
        return self._take(self._frame.target_codes)

    def at_target(self, name: str) -> np.ndarray:
        """True for the ops that went to target `name`."""
        if name not in self.targets:
            return np.zeros(len(self), dtype=bool)
        there: np.ndarray = self.target == self.targets.index(name)
        return there

    def _take(self, column: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        taken: np.ndarray = column[self._rows if rows is None else rows]
        return taken


def split_by_probe(ops: pd.DataFrame) -> dict[str, ProbeOps]:
    """Per probe name, its ops sorted by invoke time; returns {probe: ProbeOps}."""
    frame = _frame_arrays(ops)
    probe = ops["p"].array
    targets = tuple(str(t) for t in ops["r"].array.categories)

    split: dict[str, ProbeOps] = {}
    for code, name in enumerate(probe.categories):
        rows = np.flatnonzero(probe.codes == code)
        if not rows.size:
            continue

        # Ops of one probe complete almost in the order they were invoked, so the file order
        # is usually invoke order already; a stable sort fixes the rest (ties keep file order).
        invoked = frame.i[rows]
        if not np.all(invoked[1:] >= invoked[:-1]):
            order = np.argsort(invoked, kind="stable")
            rows, invoked = rows[order], invoked[order]
        split[str(name)] = ProbeOps(str(name), frame, rows, targets, invoked)
    logger.debug("ops split probes=%d ops=%d", len(split), len(ops))
    return split


def _frame_arrays(ops: pd.DataFrame) -> _Frame:
    """Zero-copy numpy views of the frame's columns and the maps of its categories."""
    outcomes = ops["o"].array
    errors = ops["e"].array
    # The trailing FAIL answers code -1 (a null outcome, which the reader never produces).
    outcome_map = np.array([_OUTCOMES[str(name)] for name in outcomes.categories] + [FAIL],
                           dtype=np.int8)
    timeout_code = (errors.categories.get_loc("timeout") if "timeout" in errors.categories
                    else -2)
    return _Frame(s=ops["s"].to_numpy(), i=ops["i"].to_numpy(), c=ops["c"].to_numpy(),
                  v=ops["v"].to_numpy(), outcome_codes=outcomes.codes, outcome_map=outcome_map,
                  error_codes=errors.codes, timeout_code=int(timeout_code),
                  target_codes=ops["r"].array.codes)
