"""The per-probe and per-store entries of summary.json (docs/journal.md)."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from drdrill.measure.classify import FAIL, INFO, OK, ProbeOps
from drdrill.measure.facts import DrillFacts, ProbeSpec, StoreSpec
from drdrill.measure.lag import baseline_window, lag_samples, lag_stats
from drdrill.measure.latency import latency_by_phase
from drdrill.measure.outages import ProbeRecovery
from drdrill.measure.rpo import StoreRpo
from drdrill.measure.units import millis, seconds, since
from drdrill.measure.verdicts import MET, MISSED, UNKNOWN, exceeds
from drdrill.measure.writes import StoreWrites

logger = logging.getLogger(__name__)


def probe_verdict(recovery: ProbeRecovery, objective_s: float | None) -> str:
    """unknown when unobserved; missed when never recovered or above the RTO objective."""
    if not recovery.observed:
        return UNKNOWN
    if recovery.never_recovered:
        return MISSED
    if recovery.rto_ns is not None and exceeds(recovery.rto_ns, objective_s):
        return MISSED
    return MET


def probe_entry(spec: ProbeSpec, ops: ProbeOps, recovery: ProbeRecovery, facts: DrillFacts,
                last_step_end: int | None) -> dict[str, Any]:
    """One element of `probes`: counts, outage, RTO and its bound, latency by phase."""
    after_last_step = None
    if recovery.recovered is not None and last_step_end is not None:
        after_last_step = seconds(recovery.recovered - last_step_end)

    latency = latency_by_phase(ops, facts.phases)
    return {
        "name": spec.name,
        "kind": spec.kind,
        "critical": spec.critical,
        "ops": len(ops),
        "ok": int(np.count_nonzero(ops.outcome == OK)),
        "fail": int(np.count_nonzero(ops.outcome == FAIL)),
        "info": int(np.count_nonzero(ops.outcome == INFO)),
        "outage_start_seconds": since(recovery.outage_start, facts.origin),
        "recovered_seconds": since(recovery.recovered, facts.origin),
        "rto_seconds": seconds(recovery.rto_ns),
        "rto_bound_seconds": seconds(recovery.bound_ns),
        "detected_by_timeout": recovery.detected_by_timeout,
        "after_last_step_seconds": after_last_step,
        "verdict": probe_verdict(recovery, facts.objectives.get("rto_seconds")),
        "latency_ms": {phase: {key: millis(value) if key != "n" else value
                               for key, value in stats.items()}
                       for phase, stats in latency.items()},
    }


def replication_lag(facts: DrillFacts, ops: dict[str, ProbeOps]) -> dict[str, dict[str, Any]]:
    """`replication_lag`: per watched store, its pooled baseline lag statistics."""
    window = baseline_window(facts.phases, facts.t0)
    watched: dict[str, list[ProbeSpec]] = {}
    for spec in facts.probes:
        if spec.watches:
            watched.setdefault(spec.watches, []).append(spec)

    lag: dict[str, dict[str, Any]] = {}
    for store, readers in watched.items():
        writer = ops.get(store, ProbeOps.empty(store))
        samples = [lag_samples(ops.get(reader.name, ProbeOps.empty(reader.name)), writer,
                               window or (0, 0)) for reader in readers]
        stats = lag_stats(samples)
        if stats["age_seconds"] is not None:
            stats["age_seconds"] = {key: round(value, 6)
                                    for key, value in stats["age_seconds"].items()}
        lag[store] = stats
    return lag


def store_entry(spec: StoreSpec, writes: StoreWrites, rpo: StoreRpo, final_read: str,
                lag: dict[str, Any] | None) -> dict[str, Any]:
    """One element of `stores`: lost writes and their ranges, the other counts, RPO."""
    predicted = None
    if lag is not None:
        predicted = {
            "seq_behind_max": lag["seq_behind"]["max"] if lag["seq_behind"] else None,
            "age_seconds_max": lag["age_seconds"]["max"] if lag["age_seconds"] else None,
            "samples": lag["samples"],
        }

    return {
        "name": spec.name,
        "kind": spec.kind,
        "replication": spec.replication,
        "acked": writes.acked,
        "lost_writes": writes.lost_writes,
        "lost_ranges": writes.lost_ranges,
        "info_total": writes.info_total,
        "info_survived": writes.info_survived,
        "info_vanished": writes.info_vanished,
        "duplicates": writes.duplicates,
        "unexpected": writes.unexpected,
        "split_brain_writes": writes.split_brain_writes,
        "rpo_seconds": seconds(rpo.rpo_ns),
        "rpo_bound_seconds": seconds(rpo.bound_ns),
        "final_read": final_read,
        "verdict": rpo.verdict,
        "predicted_rpo": predicted,
    }
