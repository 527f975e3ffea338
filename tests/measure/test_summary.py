"""The whole summary: decomposition, verdicts, phases, truth, and the degenerate journals."""

from __future__ import annotations

from histories import (
    MS,
    end,
    final_read,
    header,
    inject,
    journal,
    op,
    phase,
    probe,
    step,
    store,
    ticks,
)

from drdrill.journal.reader import Journal
from drdrill.measure.summary import summarize
from drdrill.measure.verdicts import combine, overall_verdict
from drdrill.reports.summary_file import summary_bytes

PROMOTES = [{"store": "pg-write", "from": "primary", "to": "secondary"}]


def small_drill() -> Journal:
    """pg-write (critical) and api (http, critical), T0 at 0.

    pg-write fails from 0 (first fail completes at 30 ms), recovers at 702 ms after
    promote-pg (100 -> 300 ms); seqs 8 and 9 (acked at -198 and -98) are lost. api fails
    from 0 (first fail completes at 12 ms) and recovers at 602 ms. flip-dns (400 -> 500 ms)
    reports the change in sync at 800 ms. A failback step runs after verification.
    """
    return journal(
        header([probe("pg-write"), probe("api", kind="http.request", role="read")],
               [store("pg-write", replication="simulated")]),
        phase("baseline", -1000), ticks("pg-write", -1000, 10), ticks("api", -1000, 10),
        phase("fault", -1), inject(0), phase("failover", 1),
        op("pg-write", 10, 0, 30, o="fail", e="refused"),
        op("pg-write", 11, 100, 101, o="fail", e="read_only"),
        op("api", 10, 0, 12, o="fail", e="refused"),
        step("promote-pg", 100, 300, promotes=PROMOTES),
        step("flip-dns", 400, 500, detail={"insync_t": 1_000_000_000_000 + 800 * MS}),
        ticks("api", 600, 10, first_seq=16),
        ticks("pg-write", 700, 10, first_seq=17, r="secondary"),
        phase("recovery", 1500), phase("verification", 2000),
        final_read("pg-write", [[0, 7], [17, 26]]),
        {"k": "truth", "store": "pg-write", "lost_writes": 2, "lost_ranges": [[8, 9]],
         "method": "rows on the restarted old primary missing from the new primary"},
        phase("failback", 2100), step("failback-pg", 2200, 2300), phase("teardown", 2400),
        end())


def test_small_drill_summary() -> None:
    summary = summarize(small_drill())

    assert summary["verdict"] == "met"
    assert summary["t0_utc"] == "2026-12-03T12:00:10+00:00"
    assert summary["objectives"] == {
        "rto": {"objective_seconds": 30.0, "measured_seconds": 0.702, "bound_seconds": 0.1,
                "verdict": "met", "reason": None},
        "rpo": {"objective_seconds": 5.0, "measured_seconds": 0.2, "bound_seconds": 0.1,
                "verdict": "met", "reason": None}}
    assert summary["rto"] == {"seconds": 0.702, "bound_seconds": 0.1, "probe": "pg-write",
                              "verdict": "met"}
    assert [(p["name"], p["ops"], p["ok"], p["fail"], p["outage_start_seconds"],
             p["recovered_seconds"], p["rto_seconds"], p["after_last_step_seconds"],
             p["verdict"]) for p in summary["probes"]] == [
        ("pg-write", 22, 20, 2, 0.0, 0.702, 0.702, 0.202, "met"),
        ("api", 21, 20, 1, 0.0, 0.602, 0.602, 0.102, "met")]
    # RPO: newest lost ack -98 ms (seq 9), newest survivor before seq 8: seq 7 at -298 ms.
    assert summary["stores"] == [{
        "name": "pg-write", "kind": "postgres", "replication": "simulated", "acked": 20,
        "lost_writes": 2, "lost_ranges": [[8, 9]], "info_total": 0, "info_survived": 0,
        "info_vanished": 0, "duplicates": 0, "unexpected": 0, "split_brain_writes": 0,
        "rpo_seconds": 0.2, "rpo_bound_seconds": 0.1, "final_read": "ok", "verdict": "met",
        "predicted_rpo": None}]
    assert summary["decomposition"] == {
        "detect_seconds": 0.012,
        "steps": [{"name": "promote-pg", "kind": "postgres.promote", "ok": True,
                   "start_seconds": 0.1, "end_seconds": 0.3},
                  {"name": "flip-dns", "kind": "postgres.promote", "ok": True,
                   "start_seconds": 0.4, "end_seconds": 0.5}],
        "insync_seconds": 0.8, "dns_converged_seconds": None,
        "first_stable_http_seconds": 0.602, "dns_probes": []}
    assert summary["phases"] == [
        {"name": "baseline", "start_seconds": -1.0}, {"name": "fault", "start_seconds": -0.001},
        {"name": "failover", "start_seconds": 0.001},
        {"name": "recovery", "start_seconds": 1.5},
        {"name": "verification", "start_seconds": 2.0},
        {"name": "failback", "start_seconds": 2.1},
        {"name": "teardown", "start_seconds": 2.4}]
    assert summary["truth"] == {"pg-write": {"lost_writes": 2, "lost_ranges": [[8, 9]]}}
    assert summary["replication_lag"] == {}


def test_summary_is_reproduced_byte_for_byte() -> None:
    assert summary_bytes(summarize(small_drill())) == summary_bytes(summarize(small_drill()))


def test_empty_journal() -> None:
    assert summarize(Journal.empty()) == {
        "schema_version": 1, "run_id": None, "drill": None, "status": "aborted",
        "abort_reason": "the journal has no end record: the run crashed", "verdict": "aborted",
        "t0_utc": None, "objectives": {},
        "rto": {"seconds": None, "bound_seconds": None, "probe": None, "verdict": "unknown"},
        "rpo": {"seconds": None, "bound_seconds": None, "store": None, "verdict": "unknown"},
        "probes": [], "stores": [], "replication_lag": {},
        "decomposition": {"detect_seconds": None, "steps": [], "insync_seconds": None,
                          "dns_converged_seconds": None, "first_stable_http_seconds": None,
                          "dns_probes": []},
        "phases": []}


def test_aborted_run_is_aborted_whatever_it_measured() -> None:
    j = journal(header([probe("pg-write")]), ticks("pg-write", -500, 5), inject(0),
                ticks("pg-write", 0, 10, first_seq=5),
                end(status="aborted", reason="interrupted (Ctrl-C or SIGTERM)"))
    summary = summarize(j)

    assert (summary["status"], summary["abort_reason"], summary["verdict"]) == (
        "aborted", "interrupted (Ctrl-C or SIGTERM)", "aborted")
    assert summary["objectives"]["rto"]["verdict"] == "met"


def test_no_op_after_t0_makes_the_verdict_unknown() -> None:
    j = journal(header([probe("pg-write")], rpo_s=None), ticks("pg-write", -500, 5), inject(0),
                end())
    summary = summarize(j)

    assert summary["verdict"] == "unknown"
    assert list(summary["objectives"]) == ["rto"]
    assert summary["objectives"]["rto"]["reason"] == "critical probe pg-write has no op after T0"
    assert summary["probes"][0]["verdict"] == "unknown"


def test_without_objectives_nothing_can_be_missed() -> None:
    j = journal(header([probe("pg-write")], rto_s=None, rpo_s=None), inject(0),
                op("pg-write", 0, 0, 2, o="fail"), end())
    summary = summarize(j)

    assert summary["objectives"] == {}
    assert summary["verdict"] == "met"
    # Down at its only op after T0 and never seen again: with no objective nothing is decided.
    assert summary["rto"]["verdict"] == "unknown"


def test_verdicts_combine_three_valued() -> None:
    assert combine([]) == "met"
    assert combine(["met", "unknown"]) == "unknown"
    assert combine(["unknown", "missed", "met"]) == "missed"
    assert overall_verdict(None, ["met"]) == "aborted"
    assert overall_verdict({"status": "aborted"}, ["met"]) == "aborted"
    assert overall_verdict({"status": "completed"}, ["met", "met"]) == "met"
