"""The facts of a run other than its ops: what was declared, and when things happened.

Everything here is read from the `run` header and the non-op records of the journal
(docs/journal.md); the measurement steps take these typed facts rather than raw dicts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from drdrill.journal.reader import Journal

logger = logging.getLogger(__name__)

# Phases in which the failover steps run; steps of failback or rollback are not part of the RTO.
FAILOVER_PHASES = frozenset({"fault", "failover", "recovery"})


@dataclass(frozen=True)
class ProbeSpec:
    """One probe as the `run` header declares it."""

    name: str
    kind: str | None
    role: str | None
    interval_ns: int
    timeout_ns: int
    critical: bool
    watches: str | None


@dataclass(frozen=True)
class StoreSpec:
    """One store (a write probe's heartbeats) as the `run` header declares it."""

    name: str
    kind: str | None
    probe: str
    replication: str | None


@dataclass(frozen=True)
class Step:
    """One step, from its `start` and `end` records (`end_t` None when it never ended)."""

    name: str
    kind: str | None
    start_t: int
    end_t: int | None
    ok: bool | None
    promotes: tuple[dict[str, Any], ...]
    detail: dict[str, Any]


@dataclass(frozen=True)
class FinalRead:
    """The final read of one store on its new primary."""

    store: str
    ok: bool
    error: str | None
    ranges: list[list[int]]
    dups: list[list[int]]
    rows: int


@dataclass(frozen=True)
class DrillFacts:
    """The declared probes and stores, and the timeline of the run, in nanoseconds."""

    header: dict[str, Any] | None
    t0: int | None
    origin: int | None
    stable_window_ns: int
    objectives: dict[str, float]
    probes: list[ProbeSpec]
    stores: list[StoreSpec]
    phases: list[tuple[str, int]]
    steps: list[Step]
    final_reads: dict[str, FinalRead]
    truth: dict[str, dict[str, Any]]
    end: dict[str, Any] | None


def gather_facts(journal: Journal) -> DrillFacts:
    """Everything but the ops, typed; returns a DrillFacts (empty lists for a headerless run)."""
    header = journal.header or {}
    events = journal.events
    t0 = _first_inject(events)
    run_start = (header.get("clock") or {}).get("mono_ns")
    phases = [(str(e["name"]), int(e["t"])) for e in events if e.get("k") == "phase"]
    if run_start is None and phases:
        run_start = phases[0][1]

    return DrillFacts(
        header=journal.header,
        t0=t0,
        # Times are reported from T0; a run that never reached its fault reports them from
        # its start instead.
        origin=t0 if t0 is not None else run_start,
        stable_window_ns=round(float(header.get("stable_window_s") or 0.0) * 1e9),
        objectives=_objectives(header.get("objectives") or {}),
        probes=[_probe_spec(raw) for raw in header.get("probes") or []],
        stores=[_store_spec(raw) for raw in header.get("stores") or []],
        phases=phases,
        steps=_pair_steps(events),
        final_reads=_final_reads(events),
        truth={e["store"]: e for e in events if e.get("k") == "truth"},
        end=next((e for e in reversed(events) if e.get("k") == "end"), None),
    )


def _objectives(declared: dict[str, Any]) -> dict[str, float]:
    """`rto_seconds` and `rpo_seconds` as floats; an objective that is null is left out."""
    return {key: float(declared[key]) for key in ("rto_seconds", "rpo_seconds")
            if declared.get(key) is not None}


def _first_inject(events: list[dict[str, Any]]) -> int | None:
    """T0: the `t` of the first `fault` record with event `inject`."""
    for event in events:
        if event.get("k") == "fault" and event.get("event") == "inject":
            return int(event["t"])
    return None


def _probe_spec(raw: dict[str, Any]) -> ProbeSpec:
    return ProbeSpec(name=raw["name"], kind=raw.get("kind"), role=raw.get("role"),
                     interval_ns=int(raw.get("interval_ns") or 0),
                     timeout_ns=int(raw.get("timeout_ns") or 0),
                     critical=bool(raw.get("critical")), watches=raw.get("watches"))


def _store_spec(raw: dict[str, Any]) -> StoreSpec:
    return StoreSpec(name=raw["name"], kind=raw.get("kind"), probe=raw.get("probe") or raw["name"],
                     replication=raw.get("replication"))


def _pair_steps(events: list[dict[str, Any]]) -> list[Step]:
    """Steps in order of start; an `end` closes the latest open step of the same name."""
    steps: list[Step] = []
    open_steps: dict[str, int] = {}
    for event in events:
        if event.get("k") != "step":
            continue

        name = str(event.get("name"))
        if event.get("event") == "start":
            open_steps[name] = len(steps)
            steps.append(Step(name=name, kind=event.get("kind"), start_t=int(event["t"]),
                              end_t=None, ok=None, promotes=(), detail={}))
        elif event.get("event") == "end" and name in open_steps:
            index = open_steps.pop(name)
            started = steps[index]
            steps[index] = Step(
                name=name, kind=started.kind, start_t=started.start_t, end_t=int(event["t"]),
                ok=bool(event.get("ok")), promotes=tuple(event.get("promotes") or ()),
                detail=dict(event.get("detail") or {}))
        else:
            logger.warning("step record without a start ignored step=%s", name)
    return steps


def _final_reads(events: list[dict[str, Any]]) -> dict[str, FinalRead]:
    """The last final read of each store (a later read supersedes an earlier one)."""
    reads: dict[str, FinalRead] = {}
    for event in events:
        if event.get("k") != "final_read":
            continue

        reads[event["store"]] = FinalRead(
            store=event["store"], ok=bool(event.get("ok")), error=event.get("error"),
            ranges=[list(r) for r in event.get("ranges") or []],
            dups=[list(d) for d in event.get("dups") or []], rows=int(event.get("rows") or 0))
    return reads


def phase_of(facts: DrillFacts, t: int) -> str | None:
    """The name of the phase at instant `t` (the last mark at or before it), None before any."""
    current = None
    for name, start in facts.phases:
        if start <= t:
            current = name
    return current


def failover_steps(facts: DrillFacts) -> list[Step]:
    """The steps that are part of the failover (not failback, not rollback), in order."""
    if not facts.phases:
        return [step for step in facts.steps if facts.t0 is None or step.start_t >= facts.t0]
    return [step for step in facts.steps if phase_of(facts, step.start_t) in FAILOVER_PHASES]
