"""Outages and stable recovery of each probe, and the RTO they give.

Definitions (DESIGN.md, "Definitions"; the contract with users):
- the outage of a probe starts at the invoke time of its first not-good op that completed at or
  after T0. An op still failing when T0 came counts: an outage that began before the fault is
  measured from T0 for RTO, since the drill is only answerable for what followed its fault;
- its stable recovery is the first good op after the outage start such that every op invoked
  in [its i, its i + stable window] is good and the probe has ops invoked at or after
  i + stable window: the window has to be observed, not assumed, or a probe that stopped
  ticking would look stable. The recovery instant is that op's completion time;
- RTO of the probe = recovery instant - T0, with a bound of one probe interval (the instant lies
  between two ops), plus the op timeout when a not-good op of the outage timed out (a timeout
  reports a failure up to one timeout late).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from drdrill.measure.classify import ProbeOps
from drdrill.measure.facts import ProbeSpec

logger = logging.getLogger(__name__)

_NEVER = np.iinfo(np.int64).max
_FIRST_SLICE = 4096


@dataclass(frozen=True)
class ProbeRecovery:
    """How one probe went through the fault, in ns of the monotonic clock.

    `observed` is False when the probe has no op invoked at or after T0 (nothing to measure).
    `outage_start` is None when the probe never failed; `recovered` is None when it never
    failed or never recovered (`never_recovered` tells which). `rto_ns` is None unless measured.
    """

    observed: bool
    outage_start: int | None
    recovered: int | None
    never_recovered: bool
    rto_ns: int | None
    bound_ns: int
    detected_by_timeout: bool
    # For a probe that never recovered: how long after T0 it was still seen down, a lower
    # bound of its RTO.
    down_at_least_ns: int | None = None


def outage_start_index(ops: ProbeOps, t0: int) -> int | None:
    """Index (in invoke order) of the first not-good op completed at or after T0, or None."""
    starts = np.flatnonzero(~ops.good & (ops.c >= t0))
    return int(starts[0]) if starts.size else None


def next_bad_invoke(ops: ProbeOps) -> np.ndarray:
    """For each op, the smallest invoke time of a not-good op at or after it (int64 max if none).

    A reversed cumulative minimum: one pass, no loop per op.
    """
    bad_invokes = np.where(ops.good, _NEVER, ops.i)
    return np.minimum.accumulate(bad_invokes[::-1])[::-1]


def stable_recovery_index(ops: ProbeOps, after: int, window_ns: int) -> int | None:
    """Index of the first good op after index `after` that starts an observed clean window."""
    next_bad = next_bad_invoke(ops)
    # Ops invoked in [i, i + window] start at the first index with that invoke time: the op
    # itself, unless another op shares its invoke time and sorts before it.
    tied = bool(np.any(ops.i[1:] == ops.i[:-1]))

    # Candidates are checked in growing slices: recovery is usually near the outage start,
    # and a long drill has millions of good ops after it.
    first, size = after + 1, _FIRST_SLICE
    while first < len(ops):
        candidates = np.arange(first, min(first + size, len(ops)))
        candidates = candidates[ops.good[candidates]]
        starts = ops.i[candidates]
        window_ends = starts + window_ns
        in_window = np.searchsorted(ops.i, starts, side="left") if tied else candidates
        stable = np.flatnonzero((next_bad[in_window] > window_ends)
                                & (ops.i[-1] >= window_ends))
        if stable.size:
            return int(candidates[stable[0]])
        first, size = first + size, size * 8
    return None


def measure_recovery(ops: ProbeOps, spec: ProbeSpec, t0: int | None,
                     window_ns: int) -> ProbeRecovery:
    """The outage and stable recovery of one probe after T0; returns a ProbeRecovery.

    Without T0, or without an op invoked at or after it, the probe is not `observed`.
    """
    if t0 is None or not len(ops) or ops.i[-1] < t0:
        return ProbeRecovery(observed=False, outage_start=None, recovered=None,
                             never_recovered=False, rto_ns=None, bound_ns=spec.interval_ns,
                             detected_by_timeout=False)

    start = outage_start_index(ops, t0)
    if start is None:
        return ProbeRecovery(observed=True, outage_start=None, recovered=None,
                             never_recovered=False, rto_ns=0, bound_ns=spec.interval_ns,
                             detected_by_timeout=False)

    recovery = stable_recovery_index(ops, start, window_ns)
    outage = slice(start, recovery if recovery is not None else len(ops))
    by_timeout = bool(np.any(ops.timeout[outage] & ~ops.good[outage]))
    bound = spec.interval_ns + (spec.timeout_ns if by_timeout else 0)
    if recovery is None:
        logger.info("probe never recovered probe=%s outage_start=%d", spec.name, ops.i[start])
        return ProbeRecovery(observed=True, outage_start=int(ops.i[start]), recovered=None,
                             never_recovered=True, rto_ns=None, bound_ns=bound,
                             detected_by_timeout=by_timeout,
                             down_at_least_ns=max(0, int(ops.i[-1]) - t0))

    recovered = int(ops.c[recovery])
    # An op invoked after the outage start may complete before T0 (ops overlap when the
    # failing one hangs): the probe was back before the fault could matter, so RTO is 0.
    return ProbeRecovery(observed=True, outage_start=int(ops.i[start]), recovered=recovered,
                         never_recovered=False, rto_ns=max(0, recovered - t0), bound_ns=bound,
                         detected_by_timeout=by_timeout)
