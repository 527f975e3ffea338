"""RPO of a store and of the drill, worked out by hand.

The write probe writes every 100 ms from -1000 ms, each ack 5 ms after invoke: seq n is
invoked at -1000 + 100 n and acked at -995 + 100 n.
"""

from __future__ import annotations

from typing import Any

from histories import MS, final_read, header, inject, journal, probe, store, ticks

from drdrill.measure.summary import summarize
from drdrill.measure.verdicts import MISSED, UNKNOWN


def summary_of(*records: Any, rpo_s: float = 5.0) -> dict[str, Any]:
    return summarize(journal(header([probe("pg-write", critical=False)], [store("pg-write")],
                                    rpo_s=rpo_s),
                             ticks("pg-write", -1000, 20, took_ms=5), inject(0), *records))


def test_rpo_runs_from_the_newest_survivor_before_the_first_loss() -> None:
    # Lost: 10, 11, 12 (acked at 5, 105, 205). The newest surviving ack invoked before seq
    # 10 is seq 9 (acked at -95): RPO = 205 - (-95) = 300 ms.
    summary = summary_of(final_read("pg-write", [[0, 9], [13, 19]]))
    entry = summary["stores"][0]

    assert (entry["lost_writes"], entry["lost_ranges"]) == (3, [[10, 12]])
    assert (entry["rpo_seconds"], entry["rpo_bound_seconds"]) == (0.3, 0.1)
    assert summary["rpo"] == {"seconds": 0.3, "bound_seconds": 0.1, "store": "pg-write",
                              "verdict": "met"}


def test_rpo_without_any_survivor_runs_from_the_first_op() -> None:
    # Every ack of 0..12 lost; 13..19 survive but were invoked after the first loss. Newest
    # lost: seq 12 acked at 205; no survivor before seq 0: the first op's invoke, -1000.
    # RPO = 205 - (-1000) = 1205 ms.
    summary = summary_of(final_read("pg-write", [[13, 19]]))

    assert summary["stores"][0]["rpo_seconds"] == 1.205
    assert summary["stores"][0]["lost_ranges"] == [[0, 12]]


def test_rpo_is_zero_when_nothing_acked_was_lost() -> None:
    summary = summary_of(final_read("pg-write", [[0, 19]]))

    assert (summary["stores"][0]["rpo_seconds"], summary["rpo"]["verdict"]) == (0.0, "met")


def test_rpo_above_the_objective_is_missed() -> None:
    summary = summary_of(final_read("pg-write", [[0, 9], [13, 19]]), rpo_s=0.25)

    assert summary["objectives"]["rpo"] == {
        "objective_seconds": 0.25, "measured_seconds": 0.3, "bound_seconds": 0.1,
        "verdict": MISSED,
        "reason": "RPO 0.300 s of store pg-write exceeds the objective of 0.25 s"}
    assert summary["verdict"] == "aborted"  # no end record


def test_failed_final_read_makes_the_rpo_unknown() -> None:
    summary = summary_of(final_read("pg-write", [], ok=False))

    assert summary["stores"][0]["final_read"] == "failed"
    assert summary["stores"][0]["rpo_seconds"] is None
    assert summary["objectives"]["rpo"] == {
        "objective_seconds": 5.0, "measured_seconds": None, "bound_seconds": None,
        "verdict": UNKNOWN,
        "reason": "final read of store pg-write failed: connection refused"}


def test_drill_rpo_reports_the_largest_known_store_even_when_one_is_unknown() -> None:
    # pg-write loses 10..12 (300 ms, as above); nats-write has no final read at all.
    j = journal(header([probe("pg-write"), probe("nats-write", kind="nats.write")],
                       [store("pg-write"), store("nats-write", kind="nats")]),
                ticks("pg-write", -1000, 20, took_ms=5), ticks("nats-write", -1000, 20),
                inject(0), final_read("pg-write", [[0, 9], [13, 19]]))
    summary = summarize(j)

    assert summary["rpo"] == {"seconds": 0.3, "bound_seconds": 0.1, "store": "pg-write",
                              "verdict": UNKNOWN}
    assert summary["objectives"]["rpo"]["reason"] == "store nats-write has no final read"
    assert [s["final_read"] for s in summary["stores"]] == ["ok", "missing"]
    assert summary["stores"][1]["rpo_bound_seconds"] == 100 * MS / 1e9
