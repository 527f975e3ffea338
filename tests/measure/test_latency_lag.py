"""Latency by phase and baseline replication lag (the predicted RPO)."""

from __future__ import annotations

from histories import (
    at,
    final_read,
    header,
    inject,
    journal,
    op,
    phase,
    probe,
    store,
    ticks,
)

from drdrill.measure.classify import split_by_probe
from drdrill.measure.latency import latency_by_phase
from drdrill.measure.summary import summarize


def test_latency_by_phase_uses_ok_ops_and_the_phase_at_invoke() -> None:
    # before any mark: one op of 7 ms (unphased). baseline from -1000: 1, 2, 3, 4 ms.
    # fault from 0: a fail (not counted), then 10 and 20 ms; the 20 ms op is invoked at 450,
    # before `failover` at 500, though it completes after it. failover: 5 ms.
    j = journal(header([probe("api", kind="http.request", role="read")]),
                op("api", 0, -2000, -1993), phase("baseline", -1000),
                *[op("api", n, -1000 + 100 * n, -1000 + 100 * n + took)
                  for n, took in enumerate([1, 2, 3, 4], start=1)],
                phase("fault", 0), inject(0), op("api", 5, 100, 160, o="fail", e="refused"),
                op("api", 6, 200, 210), op("api", 7, 450, 470), phase("failover", 500),
                op("api", 8, 600, 605))
    ops = split_by_probe(j.ops)["api"]
    phases = [(e["name"], e["t"]) for e in j.events if e["k"] == "phase"]

    assert latency_by_phase(ops, phases)["fault"] == {"p50": 15.0, "p95": 19.5, "p99": 19.9,
                                                      "n": 2}
    assert summarize(j)["probes"][0]["latency_ms"] == {
        "unphased": {"p50": 7.0, "p95": 7.0, "p99": 7.0, "n": 1},
        # linear interpolation: p95 = 1 + 0.95 * 3, p99 = 1 + 0.99 * 3 (to the microsecond)
        "baseline": {"p50": 2.5, "p95": 3.85, "p99": 3.97, "n": 4},
        "fault": {"p50": 15.0, "p95": 19.5, "p99": 19.9, "n": 2},
        "failover": {"p50": 5.0, "p95": 5.0, "p99": 5.0, "n": 1},
    }


def test_baseline_lag_predicts_rpo() -> None:
    # pg-write: seq n invoked at -1000 + 100 n, acked 5 ms later. pg-lag samples, v = the
    # replica's highest seq:
    #   -998, v null: nothing acked yet            -> behind 0, age 0
    #   -700, v 1: acked up to 2 (acks at -995, -895, -795) -> behind 1, age -700+895 = 195 ms
    #   -500, v 4: acked up to 4                    -> behind 0, age 0
    #   -300, v null: acked up to 6, holds none     -> behind 7, age -300+995 = 695 ms
    # The failed sample at -100 and the one after T0 are not baseline samples.
    # behind [0, 0, 1, 7]: p50 (higher) 1, p95 7. ages [0, 0, 195, 695] ms: p50 97.5 ms,
    # p95 195 + 0.85 * 500 = 620 ms.
    lag_probe = probe("pg-lag", kind="postgres.replica", role="read", critical=False,
                      interval_ms=200, watches="pg-write")
    j = journal(header([probe("pg-write"), lag_probe], [store("pg-write")]),
                phase("baseline", -1000), ticks("pg-write", -1000, 20, took_ms=5),
                op("pg-lag", 0, -998, -997, v=None), op("pg-lag", 1, -700, -699, v=1),
                op("pg-lag", 2, -500, -499, v=4), op("pg-lag", 3, -300, -299, v=None),
                op("pg-lag", 4, -100, -99, o="fail", e="refused"), inject(0),
                op("pg-lag", 5, 100, 101, v=2), final_read("pg-write", [[0, 19]]))
    summary = summarize(j)

    assert summary["replication_lag"] == {"pg-write": {
        "samples": 4, "seq_behind": {"p50": 1, "p95": 7, "max": 7},
        "age_seconds": {"p50": 0.0975, "p95": 0.62, "max": 0.695}}}
    assert summary["stores"][0]["predicted_rpo"] == {
        "seq_behind_max": 7, "age_seconds_max": 0.695, "samples": 4}


def test_lag_without_baseline_mark_has_no_samples() -> None:
    lag_probe = probe("pg-lag", kind="postgres.replica", role="read", critical=False,
                      watches="pg-write")
    j = journal(header([probe("pg-write"), lag_probe], [store("pg-write")]),
                ticks("pg-write", -1000, 5), op("pg-lag", 0, -500, -499, v=1), inject(0))

    assert summarize(j)["replication_lag"] == {
        "pg-write": {"samples": 0, "seq_behind": None, "age_seconds": None}}
    assert at(0) == j.events[1]["t"]
