"""Hand-built journals (records of docs/journal.md) of a small simulated PostgreSQL drill.

The drill: `pg-write` writes a heartbeat every 100 ms (critical), `pg-replica` reads the
standby's position every 200 ms. The baseline lasts 3 s; T0 is at 0; the op in flight at T0
is `info`; every op invoked in [0, outage_s) fails; `promote-pg` runs from 0.5 s to 0.9 s;
ops run until `stop_s`. Acknowledged heartbeats in `lost` are missing from the final read.
Times are journal nanoseconds; seconds from T0 are `(t - T0_NS) / 1e9`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

T0_NS = 1_000_000_000_000
S = 1_000_000_000
MS = 1_000_000
WRITE_INTERVAL_NS = 100 * MS
READ_INTERVAL_NS = 200 * MS
BASELINE_S = 3.0


@dataclass
class DrillShape:
    """What happened in the drill the journal records."""

    run_id: str = "20261203T120000Z-ab12cd"
    run_utc: str = "2026-12-03T12:00:00+00:00"
    outage_s: float = 2.0
    stop_s: float = 6.0
    lost: list[tuple[int, int]] = field(default_factory=list)
    rto_objective_s: float = 30.0
    rpo_objective_s: float = 1.0
    aborted_in_baseline: bool = False


def _t(seconds: float) -> int:
    return T0_NS + round(seconds * S)


def header(shape: DrillShape) -> dict[str, Any]:
    """The `run` record."""
    return {
        "k": "run", "run_id": shape.run_id, "drill": "local-sim", "drill_file": "drill.yaml",
        "drill_sha256": hashlib.sha256(DRILL_YAML.encode()).hexdigest(),
        "clock": {"mono_ns": _t(-BASELINE_S - 1.0), "utc": shape.run_utc},
        "host": "drill-host",
        "versions": {"drdrill": "0.1.0", "python": "3.11.7", "asyncpg": "0.30.0"},
        "objectives": {"rto_seconds": shape.rto_objective_s, "rpo_seconds": shape.rpo_objective_s},
        "stable_window_s": 2.0,
        "probes": [
            {"name": "pg-write", "kind": "postgres.write", "role": "write", "store": "pg-write",
             "target": "primary.postgres", "interval_ns": WRITE_INTERVAL_NS,
             "timeout_ns": 1 * S, "critical": True, "watches": None},
            {"name": "pg-replica", "kind": "postgres.replica", "role": "read", "store": None,
             "target": "secondary.postgres", "interval_ns": READ_INTERVAL_NS,
             "timeout_ns": 1 * S, "critical": False, "watches": "pg-write"},
        ],
        "stores": [{"name": "pg-write", "kind": "postgres", "probe": "pg-write",
                    "replication": "streaming"}],
        "sim": {"scenario": "kill-primary", "options": {},
                "components": {"postgres": {"backend": "postgresql", "version": "16.4"}}},
    }


def write_ops(shape: DrillShape) -> list[dict[str, Any]]:
    """pg-write's ops: ok, then info at T0, fail until outage_s, ok again (promoted standby)."""
    ops = []
    start = _t(-BASELINE_S)
    stop = _t(0.0) if shape.aborted_in_baseline else _t(shape.stop_s)
    for seq in range((stop - start) // WRITE_INTERVAL_NS):
        due = start + seq * WRITE_INTERVAL_NS
        invoke, complete = due + 1 * MS, due + 3 * MS
        target = "primary.postgres" if invoke < _t(0.9) else "secondary.postgres"
        outcome, error = "ok", None
        if _t(0.0) - WRITE_INTERVAL_NS < invoke < _t(0.0):
            outcome, error, complete = "info", "conn_lost", _t(0.05)
        elif _t(0.0) <= invoke < _t(shape.outage_s):
            outcome, error = "fail", "refused"
        ops.append({"k": "op", "p": "pg-write", "s": seq, "d": due, "i": invoke, "c": complete,
                    "o": outcome, "e": error, "r": target, "v": None})
    return ops


def replica_ops(shape: DrillShape, writes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """pg-replica's ops during the baseline: the standby holds all but the newest heartbeat."""
    ops = []
    start = _t(-BASELINE_S)
    for seq in range(int(BASELINE_S * S) // READ_INTERVAL_NS):
        due = start + seq * READ_INTERVAL_NS
        invoke = due + 2 * MS
        acked = [w["s"] for w in writes if w["o"] == "ok" and w["c"] <= invoke]
        held = acked[-1] - 1 if len(acked) > 1 else None
        ops.append({"k": "op", "p": "pg-replica", "s": seq, "d": due, "i": invoke,
                    "c": invoke + 1 * MS, "o": "ok", "e": None, "r": "secondary.postgres",
                    "v": held})
    return ops


def final_ranges(shape: DrillShape, writes: list[dict[str, Any]]) -> list[list[int]]:
    """Seq ranges on the new primary: every ok heartbeat except the lost ones."""
    lost = {seq for lo, hi in shape.lost for seq in range(lo, hi + 1)}
    present = [w["s"] for w in writes if w["o"] == "ok" and w["s"] not in lost]
    ranges: list[list[int]] = []
    for seq in present:
        if ranges and ranges[-1][1] == seq - 1:
            ranges[-1][1] = seq
        else:
            ranges.append([seq, seq])
    return ranges


def drill_records(shape: DrillShape) -> list[dict[str, Any]]:
    """Every record of the run, in the order the journal writer would append them."""
    writes = write_ops(shape)
    records: list[dict[str, Any]] = [
        header(shape),
        {"k": "phase", "name": "preflight", "t": _t(-BASELINE_S - 0.5)},
        {"k": "phase", "name": "baseline", "t": _t(-BASELINE_S)},
    ]
    records += replica_ops(shape, writes)
    if shape.aborted_in_baseline:
        return records + _baseline_abort(writes)

    records += [w for w in writes if w["i"] < _t(0.0)]
    records += [
        {"k": "phase", "name": "fault", "t": _t(-0.01)},
        {"k": "fault", "event": "inject", "kind": "process.kill", "target": "primary.postgres",
         "t": _t(0.0), "ok": True, "error": None},
        {"k": "phase", "name": "failover", "t": _t(0.1)},
        {"k": "step", "event": "start", "name": "promote-pg", "kind": "postgres.promote",
         "target": "secondary.postgres", "t": _t(0.5)},
        {"k": "step", "event": "end", "name": "promote-pg", "kind": "postgres.promote",
         "target": "secondary.postgres", "t": _t(0.9), "ok": True, "error": None,
         "promotes": [{"store": "pg-write", "from": "primary.postgres",
                       "to": "secondary.postgres"}], "detail": {}},
        {"k": "phase", "name": "recovery", "t": _t(0.9)},
    ]
    records += [w for w in writes if w["i"] >= _t(0.0)]
    ranges = final_ranges(shape, writes)
    records += [
        {"k": "phase", "name": "verification", "t": _t(shape.stop_s + 0.1)},
        {"k": "final_read", "store": "pg-write", "target": "secondary.postgres",
         "t": _t(shape.stop_s + 0.2), "ok": True, "error": None,
         "ranges": ranges, "dups": [], "rows": sum(hi - lo + 1 for lo, hi in ranges)},
        {"k": "truth", "store": "pg-write",
         "lost_writes": sum(hi - lo + 1 for lo, hi in shape.lost),
         "lost_ranges": [list(r) for r in shape.lost], "method": "hand-built"},
        {"k": "phase", "name": "teardown", "t": _t(shape.stop_s + 0.3)},
        {"k": "fault", "event": "lift", "kind": "process.kill", "target": "primary.postgres",
         "t": _t(shape.stop_s + 0.4), "ok": True, "error": None},
        {"k": "end", "t": _t(shape.stop_s + 0.5), "status": "completed", "reason": None},
    ]
    return records


def _baseline_abort(writes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The runner's records when the baseline guardrail stops the drill."""
    msg = ("aborted: baseline unhealthy: probe pg-write succeeded 27/30 ops (90.0%); "
           "the guardrail asks for 99.0%")
    return writes + [
        {"k": "note", "t": _t(0.0), "level": "error", "msg": msg},
        {"k": "end", "t": _t(0.1), "status": "aborted", "reason": msg[len("aborted: "):]},
    ]


def write_journal(run_dir: Path, shape: DrillShape) -> Path:
    """Write the journal of `shape` to RUN_DIR/journal.jsonl (and a drill.yaml); returns it."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "journal.jsonl"
    path.write_bytes(b"".join(orjson.dumps(record) + b"\n" for record in drill_records(shape)))
    (run_dir / "drill.yaml").write_text(DRILL_YAML)
    return path


DRILL_YAML = """\
name: local-sim
objectives: {rto_seconds: 30, rpo_seconds: 1}
regions:
  primary:
    postgres: {dsn: "postgresql://drill:s3cret-pw@127.0.0.1:5432/drill"}
  secondary:
    postgres: {dsn: "host=127.0.0.1 port=5433 user=drill password=hunter2 dbname=drill"}
probes:
  - {name: pg-write, kind: postgres.write, target: primary.postgres, critical: true}
fault: {kind: process.kill, label: primary, pid: 1}
"""


def built_run(run_dir: Path, shape: DrillShape) -> dict[str, Any]:
    """Write the journal of `shape` into `run_dir` and build every report, as `drdrill report`
    does; returns the summary."""
    from drdrill.reports.build import build_reports

    write_journal(run_dir, shape)
    return build_reports(run_dir)
