"""Replication lag in the baseline, which predicts the RPO of a store.

A read probe that `watches` a write probe W reads, on a replica, the highest heartbeat `seq` of W
the replica holds (its `v`). For each of its ok ops in the baseline (from the `baseline` mark to
T0), compared with what W had been acknowledged by the sample's invoke time `i`:
- seq_behind = highest seq W had acked with c <= i, minus v (v null: the replica holds none,
  so everything acked so far is behind);
- age = i - (c of W's op with seq v), the staleness of the replica's newest heartbeat; 0 when the
  replica holds the newest acked one. With v null it is measured from W's first ack.
Both are clipped at 0: a replica may hold a heartbeat whose ack has not reached us yet.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from drdrill.measure.classify import ProbeOps

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LagSamples:
    """Lag samples of one store: seqs behind (int64) and age in ns (float64, NaN = unknown)."""

    seq_behind: np.ndarray
    age_ns: np.ndarray


def baseline_window(phases: list[tuple[str, int]], t0: int | None) -> tuple[int, int] | None:
    """[start, end) of the baseline: its mark to T0 (or to the next mark without T0)."""
    marks = sorted(phases, key=lambda phase: phase[1])
    starts = [t for name, t in marks if name == "baseline"]
    if not starts:
        return None

    start = starts[0]
    if t0 is not None:
        return start, t0
    later = [t for _, t in marks if t > start]
    return start, later[0] if later else int(np.iinfo(np.int64).max)


def lag_samples(reader: ProbeOps, writer: ProbeOps, window: tuple[int, int]) -> LagSamples:
    """Lag of the replica read by `reader` behind `writer`, one sample per baseline ok op."""
    start, end = window
    sampled = reader.good & (reader.i >= start) & (reader.i < end)
    at = reader.i[sampled]
    held = reader.v[sampled]
    held_seq = np.where(np.isnan(held), -1, held).astype(np.int64)

    # Highest seq acked by each sample's instant: acks by completion time, running maximum.
    acked_c, newest_acked = _acks_by_completion(writer)
    acks_so_far = np.searchsorted(acked_c, at, side="right")
    newest = np.full(len(at), -1, dtype=np.int64)
    some = acks_so_far > 0
    newest[some] = newest_acked[acks_so_far[some] - 1]
    behind = np.maximum(newest - held_seq, 0)

    # A `v` naming a seq the writer never journaled leaves the age unknown (NaN).
    held_c = _completion_of(writer, held_seq)
    if acked_c.size:
        held_c[held_seq < 0] = acked_c[0]
    age = np.where(behind == 0, 0.0, np.maximum(at - held_c, 0.0))
    return LagSamples(seq_behind=behind, age_ns=age)


def _acks_by_completion(writer: ProbeOps) -> tuple[np.ndarray, np.ndarray]:
    """Completion times of the writer's ok ops, sorted, and the highest seq acked by each."""
    acked = writer.good
    completions, seqs = _sorted_by(writer.c[acked], writer.s[acked])
    return completions, np.maximum.accumulate(seqs) if seqs.size else seqs


def _completion_of(writer: ProbeOps, seqs: np.ndarray) -> np.ndarray:
    """Completion time (float ns) of the writer's op of each seq; NaN where there is none."""
    known, completed = _sorted_by(writer.s, writer.c)
    completions = np.full(len(seqs), np.nan)
    if not known.size:
        return completions

    slot = np.minimum(np.searchsorted(known, seqs), len(known) - 1)
    match = known[slot] == seqs
    completions[match] = completed[slot[match]]
    return completions


def _sorted_by(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`keys` sorted (stable) and `values` in the same order; no sort when already sorted,
    as a writer's seqs and completions nearly always are."""
    if np.all(keys[1:] >= keys[:-1]):
        return keys, values
    order = np.argsort(keys, kind="stable")
    return keys[order], values[order]


def lag_stats(samples: list[LagSamples]) -> dict[str, Any]:
    """Pooled lag of a store: samples, seq_behind p50/p95/max, age_seconds p50/p95/max.

    seq_behind quantiles are observed values (method "higher", so a count of seqs, never a
    fraction); ages use linear interpolation. A statistic without samples is None.
    """
    behind = np.concatenate([part.seq_behind for part in samples])
    ages = np.concatenate([part.age_ns for part in samples])
    ages = ages[~np.isnan(ages)] / 1e9
    stats: dict[str, Any] = {"samples": int(behind.size), "seq_behind": None,
                             "age_seconds": None}
    if behind.size:
        p50, p95 = np.percentile(behind, (50, 95), method="higher")
        stats["seq_behind"] = {"p50": int(p50), "p95": int(p95), "max": int(behind.max())}
    if ages.size:
        p50, p95 = np.percentile(ages, (50, 95))
        stats["age_seconds"] = {"p50": float(p50), "p95": float(p95), "max": float(ages.max())}
    return stats
