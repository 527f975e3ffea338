"""What became of each write probe's heartbeats: lost, survived, duplicated, unexpected.

The final read names the heartbeats present on the new primary as inclusive ranges of `seq`
(docs/journal.md, `final_read`). Sequences, not database clocks, decide what was lost: a
heartbeat is identified by its `seq` alone, and the only clock in the arithmetic is ours.
- lost: acknowledged (`ok`) and absent; `info` writes are never lost, they survived or vanished;
- unexpected: present although never attempted (inside a `late` gap, beyond the last op) or
  although its op certainly failed (`fail`): either way the store holds what we never wrote;
- duplicates: extra copies of a heartbeat present more than once;
- split-brain: acknowledged by the old primary of a store after a step promoted the new one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from drdrill.measure.classify import FAIL, INFO, OK, ProbeOps
from drdrill.measure.facts import FinalRead, Step

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PresentSeqs:
    """The heartbeats found by a final read: disjoint sorted inclusive ranges, and copies."""

    firsts: np.ndarray
    lasts: np.ndarray
    duplicates: int

    @property
    def count(self) -> int:
        """How many distinct seqs are present."""
        return int(np.sum(self.lasts - self.firsts + 1))

    def contains(self, seqs: np.ndarray) -> np.ndarray:
        """True for each of `seqs` that is present (a binary search per seq, no expansion)."""
        if not len(self.firsts):
            return np.zeros(len(seqs), dtype=bool)
        slot = np.searchsorted(self.firsts, seqs, side="right") - 1
        inside: np.ndarray = (slot >= 0) & (seqs <= self.lasts[np.maximum(slot, 0)])
        return inside


@dataclass(frozen=True)
class StoreWrites:
    """The fate of one store's writes; the final-read counts are None without a good read."""

    acked: int
    info_total: int
    split_brain_writes: int
    lost_writes: int | None
    lost_ranges: list[list[int]] | None
    info_survived: int | None
    info_vanished: int | None
    duplicates: int | None
    unexpected: int | None


def present_seqs(read: FinalRead) -> PresentSeqs:
    """The final read's ranges, sorted, and merged where they overlap or touch."""
    ranges = np.array(read.ranges, dtype=np.int64).reshape(-1, 2)
    dups = np.array(read.dups, dtype=np.int64).reshape(-1, 2)
    duplicates = int(np.sum(dups[:, 1] - 1))
    if not len(ranges):
        return PresentSeqs(firsts=ranges[:, 0], lasts=ranges[:, 1], duplicates=duplicates)

    ranges = ranges[np.argsort(ranges[:, 0], kind="stable")]
    firsts = ranges[:, 0]
    furthest = np.maximum.accumulate(ranges[:, 1])
    # A range starting past the furthest end so far (+1) begins a new run of present seqs.
    new_run = np.ones(len(ranges), dtype=bool)
    new_run[1:] = firsts[1:] > furthest[:-1] + 1
    run_starts = np.flatnonzero(new_run)
    run_ends = np.append(run_starts[1:] - 1, len(ranges) - 1)
    return PresentSeqs(firsts=firsts[run_starts], lasts=furthest[run_ends],
                       duplicates=duplicates)


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted.

    By sorting rather than np.unique, which hashes in numpy 2 and is many times slower on the
    millions of nearly sorted seqs of a long drill.
    """
    ordered = np.sort(values, kind="stable")
    distinct = np.ones(len(ordered), dtype=bool)
    distinct[1:] = ordered[1:] != ordered[:-1]
    unique: np.ndarray = ordered[distinct]
    return unique


def seq_ranges(seqs: np.ndarray) -> list[list[int]]:
    """Sorted distinct `seqs` as inclusive [first, last] ranges of consecutive integers."""
    if not seqs.size:
        return []
    breaks = np.flatnonzero(np.diff(seqs) != 1)
    firsts = np.append(seqs[0], seqs[breaks + 1])
    lasts = np.append(seqs[breaks], seqs[-1])
    return [[int(a), int(b)] for a, b in zip(firsts, lasts, strict=True)]


def split_brain_writes(ops: ProbeOps, store: str, steps: list[Step]) -> int:
    """Acked writes to a store's old primary, completed while a promotion had demoted it.

    A promotion (a step's `promotes` entry, at the step's end) demotes its `from` target until
    a later promotion of the same store makes that target primary again (a failback).
    """
    promotions = sorted(((step.end_t, entry["from"], entry.get("to"))
                         for step in steps if step.end_t is not None
                         for entry in step.promotes if entry.get("store") == store),
                        key=lambda promotion: promotion[0])
    demoted = np.zeros(len(ops), dtype=bool)
    for n, (promoted_at, old, _) in enumerate(promotions):
        until = next((t for t, _, new in promotions[n + 1:] if new == old), None)
        during = ops.c > promoted_at
        if until is not None:
            during &= ops.c <= until
        demoted |= ops.at_target(old) & during
    return int(np.count_nonzero(demoted & ops.good))


def presence(ops: ProbeOps, read: FinalRead | None) -> np.ndarray | None:
    """True for each op whose seq the final read found; None without a successful read."""
    if read is None or not read.ok:
        return None
    return present_seqs(read).contains(ops.s)


def store_writes(ops: ProbeOps, store: str, read: FinalRead | None, here: np.ndarray | None,
                 steps: list[Step]) -> StoreWrites:
    """Lost writes and the other counts of one store; `here` comes from `presence`."""
    acked = ops.outcome == OK
    info = ops.outcome == INFO
    split_brain = split_brain_writes(ops, store, steps)
    if read is None or here is None:
        return StoreWrites(int(acked.sum()), int(info.sum()), split_brain, None, None, None,
                           None, None, None)

    present = present_seqs(read)
    lost = sorted_unique(ops.s[acked & ~here])
    attempted = sorted_unique(ops.s)
    never_attempted = present.count - int(np.count_nonzero(present.contains(attempted)))
    failed_but_present = int(np.count_nonzero((ops.outcome == FAIL) & here))
    logger.debug("store writes measured store=%s lost=%d", store, lost.size)
    return StoreWrites(
        acked=int(acked.sum()), info_total=int(info.sum()), split_brain_writes=split_brain,
        lost_writes=int(lost.size), lost_ranges=seq_ranges(lost),
        info_survived=int(np.count_nonzero(info & here)),
        info_vanished=int(np.count_nonzero(info & ~here)),
        duplicates=present.duplicates, unexpected=never_attempted + failed_but_present)
