"""Property tests: histories with a known outage and known lost writes, measured back.

An outage [T0, T0 + D] is injected for a probe ticking every I: an op fails when it
completes inside it (latency is constant within a history, so completions are exactly I
apart). The first ok after the outage then completes within (T0 + D, T0 + D + I], so the
measured RTO is within the bound (I) of D. Lost writes: a random set of acknowledged
heartbeats is left out of the final read; exactly that set must be reported lost.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from histories import MS, T0_NS, final_read, header, inject, journal, probe, store
from hypothesis import given, settings
from hypothesis import strategies as st

from drdrill.measure.summary import summarize
from drdrill.measure.writes import seq_ranges


@st.composite
def outage_histories(draw: st.DrawFn) -> tuple[list[dict[str, Any]], int, int, int]:
    """(records, injected outage D in ns, interval I in ns, op timeout in ns)."""
    interval_ms = draw(st.integers(10, 500))
    window_ms = draw(st.integers(0, 5 * interval_ms))
    latency_ns = draw(st.integers(0, interval_ms * MS // 2))
    outage_ns = draw(st.integers(0, 20 * interval_ms * MS))
    # T0 anywhere within a tick, after a few ticks of baseline.
    t0_offset_ns = draw(st.integers(5 * interval_ms * MS, 6 * interval_ms * MS))
    failing = draw(st.sampled_from([("fail", "refused"), ("info", "conn_lost"),
                                    ("info", "timeout")]))
    start = T0_NS - t0_offset_ns
    count = (t0_offset_ns + outage_ns + window_ms * MS) // (interval_ms * MS) + 4
    records: list[dict[str, Any]] = []
    for seq in range(count):
        invoked = start + seq * interval_ms * MS
        completed = invoked + latency_ns
        down = T0_NS <= completed <= T0_NS + outage_ns
        outcome, error = failing if down else ("ok", None)
        records.append({"k": "op", "p": "api", "s": seq, "d": invoked, "i": invoked,
                        "c": completed, "o": outcome, "e": error, "r": "primary", "v": None})
    head = header([probe("api", kind="http.request", role="read", interval_ms=interval_ms)],
                  stable_window_s=window_ms / 1000)
    timeout_ns = 1000 * MS if failing[1] == "timeout" else 0
    return [head, inject(0), *records], outage_ns, interval_ms * MS, timeout_ns


@given(outage_histories())
@settings(max_examples=200, deadline=None)
def test_measured_rto_is_within_its_bound_of_the_injected_outage(
        history: tuple[list[dict[str, Any]], int, int, int]) -> None:
    records, outage_ns, interval_ns, timeout_ns = history
    entry = summarize(journal(records))["probes"][0]

    assert entry["rto_seconds"] is not None
    assert entry["rto_bound_seconds"] <= round((interval_ns + timeout_ns) / 1e9, 6)
    assert abs(entry["rto_seconds"] - outage_ns / 1e9) <= entry["rto_bound_seconds"] + 1e-6
    # Never before the outage ends: the first ok after it completes after T0 + D.
    assert entry["rto_seconds"] >= round(outage_ns / 1e9, 6) or entry["fail"] + entry["info"] == 0


@st.composite
def write_histories(draw: st.DrawFn) -> tuple[list[dict[str, Any]], set[int], int]:
    """(records, injected lost seqs, info writes made to survive)."""
    count = draw(st.integers(1, 300))
    outcomes = draw(st.lists(st.sampled_from(["ok", "ok", "ok", "fail", "info"]),
                             min_size=count, max_size=count))
    skipped = draw(st.sets(st.integers(0, count - 1), max_size=count // 4))
    attempted = [seq for seq in range(count) if seq not in skipped]
    acked = [seq for seq in attempted if outcomes[seq] == "ok"]
    infos = [seq for seq in attempted if outcomes[seq] == "info"]
    lost = draw(st.sets(st.sampled_from(acked), max_size=len(acked)) if acked else st.just(set()))
    survived = draw(st.sets(st.sampled_from(infos), max_size=len(infos))
                    if infos else st.just(set()))
    present = np.array(sorted((set(acked) - lost) | survived), dtype=np.int64)
    ops = [{"k": "op", "p": "pg-write", "s": seq, "d": T0_NS + seq * 100 * MS,
            "i": T0_NS + seq * 100 * MS, "c": T0_NS + seq * 100 * MS + 3 * MS,
            "o": outcomes[seq], "e": None if outcomes[seq] == "ok" else "conn_lost",
            "r": "primary", "v": None} for seq in attempted]
    records = [header([probe("pg-write")], [store("pg-write")]), inject(0), *ops,
               final_read("pg-write", seq_ranges(present))]
    return records, lost, len(survived)


@given(write_histories())
@settings(max_examples=200, deadline=None)
def test_measured_lost_writes_are_the_injected_ones(
        history: tuple[list[dict[str, Any]], set[int], int]) -> None:
    records, lost, survived = history
    entry = summarize(journal(records))["stores"][0]

    measured = {seq for first, last in entry["lost_ranges"] for seq in range(first, last + 1)}
    assert measured == lost
    assert entry["lost_writes"] == len(lost)
    assert entry["info_survived"] == survived
    assert entry["unexpected"] == 0
    assert (entry["rpo_seconds"] == 0.0) == (not lost)
