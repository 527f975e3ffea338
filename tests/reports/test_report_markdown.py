"""report.md and summary.json as files, from a summary written out by hand."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from drdrill.reports.markdown import render_markdown
from drdrill.reports.summary_file import write_summary

SUMMARY: dict[str, Any] = {
    "schema_version": 1, "run_id": "r-1", "drill": "local-sim", "status": "completed",
    "abort_reason": None, "verdict": "missed", "t0_utc": "2026-12-03T12:00:10+00:00",
    "objectives": {
        "rto": {"objective_seconds": 30.0, "measured_seconds": 2.3, "bound_seconds": 0.1,
                "verdict": "met", "reason": None},
        "rpo": {"objective_seconds": 0.1, "measured_seconds": 0.5, "bound_seconds": 0.1,
                "verdict": "missed",
                "reason": "RPO 0.500 s of store ch-write exceeds the objective of 0.1 s"}},
    "rto": {"seconds": 2.3, "bound_seconds": 0.1, "probe": "ch-write", "verdict": "met"},
    "rpo": {"seconds": 0.5, "bound_seconds": 0.1, "store": "ch-write", "verdict": "missed"},
    "probes": [
        {"name": "ch-write", "kind": "clickhouse.write", "critical": True, "ops": 30, "ok": 25,
         "fail": 4, "info": 1, "outage_start_seconds": 0.05, "recovered_seconds": 2.3,
         "rto_seconds": 2.3, "rto_bound_seconds": 0.1, "detected_by_timeout": False,
         "after_last_step_seconds": 1.4, "verdict": "met",
         "latency_ms": {"baseline": {"p50": 1.1, "p95": 2.0, "p99": 3.25, "n": 10}}},
        {"name": "ch-lag", "kind": "clickhouse.replica", "critical": False, "ops": 3, "ok": 3,
         "fail": 0, "info": 0, "outage_start_seconds": None, "recovered_seconds": None,
         "rto_seconds": 0.0, "rto_bound_seconds": 0.5, "detected_by_timeout": False,
         "after_last_step_seconds": None, "verdict": "met", "latency_ms": {}}],
    "stores": [
        {"name": "ch-write", "kind": "clickhouse", "replication": "simulated", "acked": 25,
         "lost_writes": 5, "lost_ranges": [[42, 44], [47, 48]], "info_total": 1,
         "info_survived": 1, "info_vanished": 0, "duplicates": 2, "unexpected": 0,
         "split_brain_writes": 1, "rpo_seconds": 0.5, "rpo_bound_seconds": 0.1,
         "final_read": "ok", "verdict": "missed",
         "predicted_rpo": {"seq_behind_max": 3, "age_seconds_max": 0.3, "samples": 3}}],
    "replication_lag": {"ch-write": {"samples": 3, "seq_behind": {"p50": 1, "p95": 3, "max": 3},
                                     "age_seconds": {"p50": 0.1, "p95": 0.28, "max": 0.3}}},
    "decomposition": {"detect_seconds": 0.05,
                      "steps": [{"name": "repoint-ch", "kind": "clickhouse.repoint", "ok": True,
                                 "start_seconds": 0.5, "end_seconds": 0.9}],
                      "insync_seconds": None, "dns_converged_seconds": None,
                      "first_stable_http_seconds": None},
    "phases": [{"name": "baseline", "start_seconds": -3.0}, {"name": "fault",
                                                            "start_seconds": 0.0}],
    "truth": {"ch-write": {"lost_writes": 5, "lost_ranges": [[42, 44], [47, 48]]}},
}

EXPECTED = """\
# Drill report: local-sim

**Verdict: MISSED**

- Run: `r-1`, status completed
- T0 (fault injected): 2026-12-03T12:00:10+00:00

## Objectives

| objective | measured | bound | objective | verdict | why |
|---|---|---|---|---|---|
| RTO | 2.300 s | ± 0.100 s | 30.000 s | met |  |
| RPO | 0.500 s | ± 0.100 s | 0.100 s | missed | RPO 0.500 s of store ch-write exceeds \
the objective of 0.1 s |

- RTO of the drill: 2.300 s ± 0.100 s (probe ch-write), met
- RPO of the drill: 0.500 s ± 0.100 s (store ch-write), missed

## RTO by probe

Seconds from T0.

| probe | kind | critical | ok/fail/info | outage start | recovered | RTO | detected by timeout \
| verdict |
|---|---|---|---|---|---|---|---|---|
| ch-write | clickhouse.write | yes | 25/4/1 | 0.050 s | 2.300 s | 2.300 s ± 0.100 s | no | met |
| ch-lag | clickhouse.replica | no | 3/0/0 | never failed | unknown | 0.000 s ± 0.500 s | no | met |

## Stores: lost writes and RPO

### ch-write (clickhouse)

- Replication: simulated (replication simulated by drdrill, not the database's own)
- Final read: ok
- Acknowledged writes: 25; lost: 5 (seqs 42–44, 47–48)
- Unknown (`info`) writes: 1; survived 1, vanished 0
- Duplicates: 2; unexpected rows: 0; split-brain writes: 1
- RPO measured: 0.500 s ± 0.100 s
- RPO predicted (baseline replication lag): up to 3 seqs behind, age up to 0.300 s, 3 samples
- Verdict: missed

## Where the RTO went

Seconds from T0.

| event | seconds |
|---|---|
| fault detected | 0.050 s |
| step repoint-ch (clickhouse.repoint, ok) | 0.500 s → 0.900 s |
| ch-write recovered after the last step | +1.400 s |

## Latency by phase

Milliseconds, ok ops only.

| probe | phase | p50 | p95 | p99 | n |
|---|---|---|---|---|---|
| ch-write | baseline | 1.100 | 2.000 | 3.250 | 10 |

## Replication lag in the baseline

| store | samples | seqs behind p50/p95/max | age s p50/p95/max |
|---|---|---|---|
| ch-write | 3 | 1/3/3 | 0.100/0.280/0.300 |

## Truth (simulator) vs measured

| store | lost (truth) | ranges (truth) | lost (measured) | ranges (measured) | agree |
|---|---|---|---|---|---|
| ch-write | 5 | 42–44, 47–48 | 5 | 42–44, 47–48 | yes |

## Phases

Start, seconds from T0.

| phase | start |
|---|---|
| baseline | -3.000 s |
| fault | 0.000 s |
"""


def test_report_reads_verdict_first_then_the_evidence() -> None:
    assert render_markdown(SUMMARY) == EXPECTED


def test_aborted_run_without_objectives() -> None:
    summary = copy.deepcopy(SUMMARY)
    summary.update(status="aborted", abort_reason="interrupted (Ctrl-C or SIGTERM)",
                   verdict="aborted", objectives={}, t0_utc=None, probes=[], stores=[],
                   replication_lag={}, phases=[])
    del summary["truth"]
    text = render_markdown(summary)

    assert text.splitlines()[:12] == [
        "# Drill report: local-sim", "", "**Verdict: ABORTED**", "",
        "- Run: `r-1`, status aborted", "- Aborted: interrupted (Ctrl-C or SIGTERM)",
        "- T0 (fault injected): unknown (no fault)", "", "## Objectives", "",
        "The drill declares no objective: there is nothing to miss.", ""]


def test_a_pipe_in_a_name_does_not_break_a_table() -> None:
    summary = copy.deepcopy(SUMMARY)
    summary["phases"] = [{"name": "odd|name", "start_seconds": 1.0}]

    assert render_markdown(summary).endswith("| odd\\|name | 1.000 s |\n")


def test_summary_file_has_sorted_keys_and_a_fixed_indent(tmp_path: Path) -> None:
    path = write_summary(tmp_path, {"b": 1, "a": {"d": [1, 2], "c": None}})

    assert path == tmp_path / "summary.json"
    assert path.read_text() == (
        '{\n  "a": {\n    "c": null,\n    "d": [\n      1,\n      2\n    ]\n  },\n  "b": 1\n}\n')
