"""The summary of a run, as summary.json holds it (docs/journal.md), from its journal alone.

The steps run in the order of the data: facts from the non-op records, ops split by probe,
recovery of every probe, RTO of the drill, fate of every store's writes, RPO, lag, phases.
The result is plain JSON data (floats rounded to the microsecond), so that `drdrill report`
rebuilds the same file byte for byte.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from drdrill.clock import ClockMapping
from drdrill.journal.reader import Journal
from drdrill.measure.classify import ProbeOps, split_by_probe
from drdrill.measure.decomposition import decomposition, last_step_end
from drdrill.measure.dns import DNS_KIND, DnsAnswers, answers_by_probe
from drdrill.measure.entries import probe_entry, replication_lag, store_entry
from drdrill.measure.facts import DrillFacts, gather_facts
from drdrill.measure.outages import ProbeRecovery, measure_recovery
from drdrill.measure.rpo import DrillRpo, StoreRpo, drill_rpo, store_rpo
from drdrill.measure.rto import DrillRto, drill_rto
from drdrill.measure.units import seconds, since
from drdrill.measure.verdicts import overall_verdict
from drdrill.measure.writes import presence, store_writes

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1


def summarize(journal: Journal) -> dict[str, Any]:
    """The summary.json object of the run recorded in `journal`."""
    logger.info("measurement started ops=%d events=%d", len(journal.ops), len(journal.events))
    facts = gather_facts(journal)
    ops = _ops_by_declared_probe(journal, facts)

    recoveries = {spec.name: measure_recovery(ops[spec.name], spec, facts.t0,
                                              facts.stable_window_ns)
                  for spec in facts.probes}
    rto = drill_rto(recoveries, facts.probes, facts.t0, facts.objectives.get("rto_seconds"))
    lag = replication_lag(facts, ops)
    stores, store_rpos = _stores(facts, ops, lag)
    rpo = drill_rpo(store_rpos)
    objectives = _objectives(facts, rto, rpo)

    summary = {
        "schema_version": SCHEMA_VERSION,
        **_run_identity(facts, journal.truncated),
        "verdict": overall_verdict(facts.end, [o["verdict"] for o in objectives.values()]),
        "t0_utc": _t0_utc(facts),
        "objectives": objectives,
        "rto": {"seconds": seconds(rto.rto_ns), "bound_seconds": seconds(rto.bound_ns),
                "probe": rto.probe, "verdict": rto.verdict},
        "rpo": {"seconds": seconds(rpo.rpo_ns), "bound_seconds": seconds(rpo.bound_ns),
                "store": rpo.store, "verdict": rpo.verdict},
        "probes": _probes(facts, ops, recoveries),
        "stores": stores,
        "replication_lag": lag,
        "decomposition": decomposition(facts, ops, recoveries, _dns_answers(journal, facts)),
        "phases": [{"name": name, "start_seconds": since(t, facts.origin)}
                   for name, t in facts.phases],
    }
    if facts.truth:
        summary["truth"] = {store: _truth_entry(record) for store, record in facts.truth.items()}

    simulator = _simulator(facts)
    if simulator is not None:
        summary["simulator"] = simulator

    logger.info("measurement complete verdict=%s rto_s=%s rpo_s=%s", summary["verdict"],
                summary["rto"]["seconds"], summary["rpo"]["seconds"])
    return summary


def _truth_entry(record: dict[str, Any]) -> dict[str, Any]:
    """What the simulator found in the servers for one store (split-brain when it looked)."""
    entry = {"lost_writes": int(record.get("lost_writes") or 0),
             "lost_ranges": record.get("lost_ranges") or []}
    if "split_brain_writes" in record:
        entry["split_brain_writes"] = int(record["split_brain_writes"] or 0)
        entry["split_brain_ranges"] = record.get("split_brain_ranges") or []
    return entry


def _simulator(facts: DrillFacts) -> dict[str, Any] | None:
    """Which scenario the simulator ran and which backend served each store; None when real."""
    sim = (facts.header or {}).get("sim")
    if not sim:
        return None
    components = sim.get("components") or {}
    return {"scenario": sim.get("scenario"),
            "backends": {name: (part or {}).get("backend") for name, part in components.items()}}


def _ops_by_declared_probe(journal: Journal, facts: DrillFacts) -> dict[str, ProbeOps]:
    """Ops of every probe of the header (empty when it journaled none)."""
    ops = split_by_probe(journal.ops)
    declared = {spec.name for spec in facts.probes}
    for name in sorted(set(ops) - declared):
        logger.warning("ops of a probe the header does not declare ignored probe=%s ops=%d",
                       name, len(ops[name]))
    return {name: ops.get(name, ProbeOps.empty(name)) for name in sorted(declared)}


def _dns_answers(journal: Journal, facts: DrillFacts) -> dict[str, DnsAnswers]:
    """The answers of every DNS probe of the header (the `a` its ops carried)."""
    names = [spec.name for spec in facts.probes if spec.kind == DNS_KIND]
    return answers_by_probe(journal.ops, journal.extras, names)


def _run_identity(facts: DrillFacts, truncated: bool) -> dict[str, Any]:
    """run_id, drill, status and abort_reason; a journal without `end` is a crashed run."""
    header = facts.header or {}
    end = facts.end
    reason: str | None
    if end is None:
        reason = "the journal has no end record: the run crashed"
        if truncated:
            reason += " (its last line was cut short)"
        status = "aborted"
    else:
        status = str(end.get("status"))
        reason = end.get("reason") if status != "completed" else None

    return {"run_id": header.get("run_id"), "drill": header.get("drill"), "status": status,
            "abort_reason": reason}


def _t0_utc(facts: DrillFacts) -> str | None:
    """T0 in UTC through the run's one clock mapping; None without T0 or mapping."""
    clock = (facts.header or {}).get("clock") or {}
    if facts.t0 is None or clock.get("mono_ns") is None or not clock.get("utc"):
        return None
    mapping = ClockMapping(mono_ns=int(clock["mono_ns"]),
                           utc=datetime.fromisoformat(clock["utc"]))
    return mapping.to_utc(facts.t0).isoformat()


def _probes(facts: DrillFacts, ops: dict[str, ProbeOps],
            recoveries: dict[str, ProbeRecovery]) -> list[dict[str, Any]]:
    step_end = last_step_end(facts)
    return [probe_entry(spec, ops[spec.name], recoveries[spec.name], facts, step_end)
            for spec in facts.probes]


def _stores(facts: DrillFacts, ops: dict[str, ProbeOps], lag: dict[str, dict[str, Any]]
            ) -> tuple[list[dict[str, Any]], dict[str, StoreRpo]]:
    """The `stores` entries and the RPO of each store."""
    intervals = {spec.name: spec.interval_ns for spec in facts.probes}
    entries: list[dict[str, Any]] = []
    rpos: dict[str, StoreRpo] = {}
    for spec in facts.stores:
        probe_ops = ops.get(spec.probe, ProbeOps.empty(spec.probe))
        read = facts.final_reads.get(spec.name)
        here = presence(probe_ops, read)
        writes = store_writes(probe_ops, spec.name, read, here, facts.steps)
        rpos[spec.name] = store_rpo(probe_ops, here, spec, read, intervals.get(spec.probe, 0),
                                    facts.objectives.get("rpo_seconds"))
        state = "missing" if read is None else "ok" if read.ok else "failed"
        entries.append(store_entry(spec, writes, rpos[spec.name], state, lag.get(spec.name)))
    return entries, rpos


def _objectives(facts: DrillFacts, rto: DrillRto, rpo: DrillRpo) -> dict[str, Any]:
    """One entry per objective the drill declares; an absent objective has nothing to miss."""
    objectives: dict[str, Any] = {}
    if "rto_seconds" in facts.objectives:
        objectives["rto"] = {"objective_seconds": facts.objectives["rto_seconds"],
                             "measured_seconds": seconds(rto.rto_ns),
                             "bound_seconds": seconds(rto.bound_ns), "verdict": rto.verdict,
                             "reason": rto.reason}
    if "rpo_seconds" in facts.objectives:
        objectives["rpo"] = {"objective_seconds": facts.objectives["rpo_seconds"],
                             "measured_seconds": seconds(rpo.rpo_ns),
                             "bound_seconds": seconds(rpo.bound_ns), "verdict": rpo.verdict,
                             "reason": rpo.reason}
    return objectives
