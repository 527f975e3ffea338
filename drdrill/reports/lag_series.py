"""The baseline replication lag over time, for the chart of report.html.

The summary holds the lag's percentiles; a chart needs the samples themselves. They come from
`drdrill.measure.lag`, the very function the percentiles are computed from, so the chart can
never disagree with the figures beside it; this module only adds each sample's instant and
thins the series for drawing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from drdrill.errors import DrdrillBug
from drdrill.journal.reader import Journal
from drdrill.measure.classify import ProbeOps, split_by_probe
from drdrill.measure.facts import gather_facts
from drdrill.measure.lag import baseline_window, lag_samples

MAX_POINTS = 2000


@dataclass(frozen=True)
class LagSeries:
    """Samples of one replica probe: seconds from T0 and heartbeats behind its write probe."""

    replica: str
    watches: str
    seconds: np.ndarray
    seq_behind: np.ndarray


def lag_series(journal: Journal) -> list[LagSeries]:
    """One LagSeries per replica probe (a read probe that `watches` a write probe) with ops."""
    facts = gather_facts(journal)
    window = baseline_window(facts.phases, facts.t0)
    pairs = [(p.name, p.watches) for p in facts.probes if p.watches]
    if window is None or not pairs or journal.ops.empty:
        return []

    # Only the probes of the pairs are split (sorted), not every probe of a long journal.
    names = {name for pair in pairs for name in pair}
    ops = journal.ops
    split = split_by_probe(ops[ops["p"].isin(names).to_numpy()])
    origin = facts.origin or 0
    return [_series(split[reader], split[writer], window, origin)
            for reader, writer in pairs if reader in split and writer in split]


def _series(reader: ProbeOps, writer: ProbeOps, window: tuple[int, int],
            origin: int) -> LagSeries:
    samples = lag_samples(reader, writer, window)

    # The instants of the samples: the reader's ok ops in the window, as lag_samples takes them.
    at = reader.i[reader.good & (reader.i >= window[0]) & (reader.i < window[1])]
    if at.size != samples.seq_behind.size:
        raise DrdrillBug(f"lag samples of {reader.name} ({samples.seq_behind.size}) do not "
                         f"match its baseline ok ops ({at.size})")

    seconds, behind = _thin((at - origin) / 1e9, samples.seq_behind)
    return LagSeries(reader.name, writer.name, seconds, behind)


def _thin(seconds: np.ndarray, behind: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """At most MAX_POINTS points: the largest lag in each of MAX_POINTS equal time slices."""
    if seconds.size <= MAX_POINTS:
        return seconds, behind

    edges = np.linspace(seconds[0], seconds[-1], MAX_POINTS + 1)
    starts = np.unique(np.searchsorted(seconds, edges[:-1], side="left"))
    return seconds[starts], np.maximum.reduceat(behind, starts)
