"""Latency of the ok ops of each probe, by phase of the run.

An op belongs to the phase in force when it was invoked (the last phase mark at or before its
`i`). Only `ok` ops count: a failure's duration is how long it took to fail, not a latency.
Ops invoked before the first phase mark are reported under UNPHASED.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from drdrill.measure.classify import ProbeOps

logger = logging.getLogger(__name__)

UNPHASED = "unphased"
QUANTILES = (50, 95, 99)


def latency_by_phase(ops: ProbeOps, phases: list[tuple[str, int]]) -> dict[str, dict[str, Any]]:
    """Per phase name, p50/p95/p99 of (c - i) in ms (linear interpolation) and n, ok ops only.

    Phases without an ok op are left out; a phase name marked twice pools both spans.
    """
    phases = sorted(phases, key=lambda phase: phase[1])
    marks = np.array([t for _, t in phases], dtype=np.int64)
    # Ops are sorted by `i`, so each phase is a contiguous slice: no per-op phase lookup.
    bounds = np.searchsorted(ops.i, marks, side="left")
    spans = [(UNPHASED, 0, int(bounds[0]) if len(bounds) else len(ops))]
    for n, (name, _) in enumerate(phases):
        stop = int(bounds[n + 1]) if n + 1 < len(bounds) else len(ops)
        spans.append((name, int(bounds[n]), stop))

    pooled: dict[str, list[np.ndarray]] = {}
    for name, start, stop in spans:
        good = ops.good[start:stop]
        if good.any():
            took = ops.c[start:stop][good] - ops.i[start:stop][good]
            pooled.setdefault(name, []).append(took)

    return {name: _quantiles_ms(np.concatenate(parts)) for name, parts in pooled.items()}


def _quantiles_ms(took_ns: np.ndarray) -> dict[str, Any]:
    values = np.percentile(took_ns, QUANTILES) / 1e6
    stats: dict[str, Any] = {f"p{q}": float(v) for q, v in zip(QUANTILES, values, strict=True)}
    stats["n"] = int(took_ns.size)
    return stats
