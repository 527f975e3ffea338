"""The timeline's lanes as spans of equal outcome, computed over the whole ops frame at once.

A long drill has millions of ops; drawing one rectangle per op would make a report of hundreds
of megabytes that no browser opens. The time axis is cut into `bins` columns (finer than a
pixel of the chart), each lane takes in each column the worst outcome of the ops invoked there
(fail over info over ok, so that no failure is ever hidden by the ok ops around it), a column
without ops keeps the outcome of the op before it (a probe's state lasts until its next
attempt), and runs of equal columns become one span. The work is a few numpy passes over the
frame, with no Python loop per op, and at most `bins` spans per lane whatever the journal size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from drdrill.journal.reader import Journal

# Lane codes, in order of precedence within one column.
NO_OP, OK, INFO, FAIL = -1, 0, 1, 2
_PRECEDENCE = {"ok": OK, "info": INFO, "fail": FAIL}
DEFAULT_BINS = 3000


@dataclass(frozen=True)
class LaneSpans:
    """One probe's lane: spans in seconds from the origin, each with an outcome code."""

    probe: str
    starts: np.ndarray
    widths: np.ndarray
    codes: np.ndarray

    def of(self, code: int) -> list[tuple[float, float]]:
        """The (start, width) pairs of the spans with outcome `code`."""
        chosen = self.codes == code
        return list(zip(self.starts[chosen].tolist(), self.widths[chosen].tolist(), strict=True))


def probe_names(journal: Journal) -> list[str]:
    """The probes in the header's order, then any probe only the ops name."""
    names = [probe["name"] for probe in (journal.header or {}).get("probes", [])]
    extra = [str(name) for name in _categories(journal.ops["p"]) if name not in names]
    return names + extra


def lane_spans(journal: Journal, origin_ns: int, bins: int = DEFAULT_BINS,
               window_ns: tuple[int, int] | None = None) -> list[LaneSpans]:
    """One LaneSpans per probe (probe_names order), of the ops invoked within `window_ns` when
    given (a lane then starts at its first op in the window); see the module docstring."""
    names = probe_names(journal)
    ops = journal.ops
    if window_ns is not None:
        invoke = ops["i"].to_numpy()
        ops = ops[(invoke >= window_ns[0]) & (invoke <= window_ns[1])]
    if ops.empty:
        return [LaneSpans(name, *_empty_spans()) for name in names]

    # Step 1: every op's cell (lane, column, outcome) as one integer, computed in place:
    # fresh memory is slow to touch on the VMs drills run from, so temporaries are avoided.
    # (invoke - lo) * bins stays within int64 for drills shorter than about 30 days.
    invoke = ops["i"].to_numpy()
    lo_ns, hi_ns = int(invoke.min()), int(ops["c"].to_numpy().max())
    span_ns = max(hi_ns - lo_ns, 1)
    cell = invoke - lo_ns
    cell *= bins
    cell //= span_ns
    np.minimum(cell, bins - 1, out=cell)
    cell += _lane_of_each_op(ops["p"], names) * bins
    cell *= 3
    cell += _code_of_each_op(ops["o"])

    # Step 2: the worst outcome of each (lane, column), from the count of each outcome there.
    size = len(names) * bins
    present = np.bincount(cell, minlength=size * 3).reshape(size, 3) > 0
    grid = np.full(size, NO_OP, np.int8)
    for outcome in (OK, INFO, FAIL):
        grid[present[:, outcome]] = outcome
    grid = _carry_forward(grid.reshape(len(names), bins))

    # Step 3: runs of equal cells become spans.
    lo, width = (lo_ns - origin_ns) / 1e9, span_ns / bins / 1e9
    return [_runs(name, grid[lane], lo, width) for lane, name in enumerate(names)]


def _lane_of_each_op(probes: pd.Series, names: list[str]) -> np.ndarray:
    """The lane index of each op, through the categorical codes (no per-op lookup)."""
    lane_of_category = np.array([names.index(str(name)) for name in _categories(probes)],
                                dtype=np.int64)
    lanes: np.ndarray = lane_of_category[_codes(probes)]
    return lanes


def _code_of_each_op(outcomes: pd.Series) -> np.ndarray:
    code_of_category = np.array([_PRECEDENCE[str(name)] for name in _categories(outcomes)],
                                dtype=np.int8)
    codes: np.ndarray = code_of_category[_codes(outcomes)]
    return codes


def _carry_forward(grid: np.ndarray) -> np.ndarray:
    """Fill each row's empty cells with the cell before them, up to the row's last op."""
    columns = np.arange(grid.shape[1])
    source = np.maximum.accumulate(np.where(grid != NO_OP, columns, 0), axis=1)
    filled = np.take_along_axis(grid, source, axis=1)

    has_op = grid != NO_OP
    last = grid.shape[1] - 1 - np.argmax(has_op[:, ::-1], axis=1)
    filled[columns[None, :] > last[:, None]] = NO_OP
    return filled


def _runs(name: str, row: np.ndarray, lo: float, width: float) -> LaneSpans:
    """Runs of equal codes in one row, without the NO_OP runs."""
    starts = np.flatnonzero(np.r_[True, row[1:] != row[:-1]])
    lengths = np.diff(np.r_[starts, len(row)])
    codes = row[starts]
    keep = codes != NO_OP
    return LaneSpans(name, lo + starts[keep] * width, lengths[keep] * width, codes[keep])


def _categories(column: pd.Series) -> list[Any]:
    """The categories of a categorical column (the reader gives `p` and `o` as categoricals)."""
    return list(column.cat.categories)


def _codes(column: pd.Series) -> np.ndarray:
    codes: np.ndarray = column.cat.codes.to_numpy()
    return codes


def _empty_spans() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.empty(0), np.empty(0), np.empty(0, np.int8)
