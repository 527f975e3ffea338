"""Outage start, stable recovery and RTO of a probe, on hand-written histories.

Unless a test says otherwise: one probe `pg-write` at 100 ms, op timeout 1 s, stable window
300 ms, T0 at 0 ms. Expected values are worked out in the comments.
"""

from __future__ import annotations

import random

from histories import MS, at, header, inject, journal, op, probe, ticks

from drdrill.journal.reader import Journal
from drdrill.measure.classify import split_by_probe
from drdrill.measure.facts import gather_facts
from drdrill.measure.outages import ProbeRecovery, measure_recovery
from drdrill.measure.rto import drill_rto


def recovery(j: Journal, name: str = "pg-write") -> ProbeRecovery:
    facts = gather_facts(j)
    spec = next(spec for spec in facts.probes if spec.name == name)
    return measure_recovery(split_by_probe(j.ops)[name], spec, facts.t0, facts.stable_window_ns)


def test_probe_that_never_fails_has_rto_zero() -> None:
    j = journal(header([probe("pg-write")]), ticks("pg-write", -500, 5), inject(0),
                ticks("pg-write", 0, 10, first_seq=5))

    assert recovery(j) == ProbeRecovery(observed=True, outage_start=None, recovered=None,
                                        never_recovered=False, rto_ns=0, bound_ns=100 * MS,
                                        detected_by_timeout=False)


def test_probe_that_never_recovers_has_no_rto() -> None:
    # Ops from 0 to 1000 ms all fail: the outage starts at the op invoked at 0.
    j = journal(header([probe("pg-write")]), ticks("pg-write", -500, 5), inject(0),
                ticks("pg-write", 0, 11, o="fail", e="refused", first_seq=5))

    assert recovery(j) == ProbeRecovery(observed=True, outage_start=at(0), recovered=None,
                                        never_recovered=True, rto_ns=None, bound_ns=100 * MS,
                                        detected_by_timeout=False, down_at_least_ns=1000 * MS)
    # Still down 1 s after T0 when its ops end: against 30 s that decides nothing...
    rto = drill_rto({"pg-write": recovery(j)}, gather_facts(j).probes, at(0), 30.0)
    assert (rto.rto_ns, rto.bound_ns, rto.probe, rto.verdict, rto.reason) == (
        None, 100 * MS, "pg-write", "unknown",
        "critical probe pg-write had not recovered when its ops end, 1.000 s after T0")
    # ...against 0.5 s it is a miss, whatever came after.
    rto = drill_rto({"pg-write": recovery(j)}, gather_facts(j).probes, at(0), 0.5)
    assert (rto.verdict, rto.reason) == (
        "missed", "critical probe pg-write never recovered: still down 1.000 s after T0,"
        " beyond the objective of 0.5 s")


def test_flapping_recovers_at_the_ok_that_starts_a_clean_window() -> None:
    # fail at 0 and 100, ok at 200, fail at 300, ok from 400 to 800. The ok at 200 has the
    # fail at 300 in its window [200, 500]; the ok at 400 has [400, 700] clean and ops after
    # 700: recovery is its completion, 402 ms.
    outcomes = ["fail", "fail", "ok", "fail", "ok", "ok", "ok", "ok", "ok"]
    j = journal(header([probe("pg-write")]), ticks("pg-write", -200, 2), inject(0),
                [op("pg-write", 2 + n, n * 100, n * 100 + 2, o=o,
                    e=None if o == "ok" else "refused") for n, o in enumerate(outcomes)])

    assert recovery(j) == ProbeRecovery(observed=True, outage_start=at(0), recovered=at(402),
                                        never_recovered=False, rto_ns=402 * MS,
                                        bound_ns=100 * MS, detected_by_timeout=False)


def test_window_must_be_observed_not_assumed() -> None:
    # The same flapping, but the last op is invoked at 600: the ok at 400 would need an op
    # invoked at or after 700 to show its window. Nothing qualifies: never recovered.
    outcomes = ["fail", "fail", "ok", "fail", "ok", "ok", "ok"]
    j = journal(header([probe("pg-write")]), inject(0),
                [op("pg-write", n, n * 100, n * 100 + 2, o=o,
                    e=None if o == "ok" else "refused") for n, o in enumerate(outcomes)])

    assert recovery(j).never_recovered
    assert recovery(j).rto_ns is None


def test_outage_started_before_t0_is_measured_from_t0_and_bounded_by_the_timeout() -> None:
    # The op invoked at -100 hangs until +900 (timeout) across T0: it is the first not-good
    # op completed at or after T0, so the outage starts at -100. Ticks 0..800 were skipped
    # while it hung. The ok at 900 opens the clean window [900, 1200], observed by the op at
    # 1300: RTO = 902 ms. A timeout was part of the outage: bound = 100 ms + 1 s.
    j = journal(header([probe("pg-write")]), op("pg-write", 0, -300, -298),
                op("pg-write", 1, -200, -198, o="fail", e="refused"), inject(0),
                op("pg-write", 2, -100, 900, o="fail", e="timeout"),
                ticks("pg-write", 900, 5, first_seq=12))

    assert recovery(j) == ProbeRecovery(observed=True, outage_start=at(-100),
                                        recovered=at(902), never_recovered=False,
                                        rto_ns=902 * MS, bound_ns=1100 * MS,
                                        detected_by_timeout=True)


def test_ops_completing_out_of_order_are_taken_in_invoke_order() -> None:
    # In completion (file) order: the info op invoked at 100 completes at 400, after the oks
    # invoked at 200 and 300. By invoke order: fail at 0, info at 100, ok from 200 on. The ok
    # at 200 opens [200, 500], all ok: recovered at its completion, 205 ms. The info op timed
    # out inside the outage: bound 1.1 s.
    in_completion_order = [
        op("pg-write", 0, -100, -98), op("pg-write", 1, 0, 2, o="fail", e="refused"),
        op("pg-write", 3, 200, 205), op("pg-write", 4, 300, 305),
        op("pg-write", 2, 100, 400, o="info", e="timeout"),
        *[op("pg-write", 5 + n, 400 + 100 * n, 405 + 100 * n) for n in range(5)]]
    expected = ProbeRecovery(observed=True, outage_start=at(0), recovered=at(205),
                             never_recovered=False, rto_ns=205 * MS, bound_ns=1100 * MS,
                             detected_by_timeout=True)

    shuffled = in_completion_order[:]
    random.Random(3).shuffle(shuffled)
    for records in (in_completion_order, shuffled):
        assert recovery(journal(header([probe("pg-write")]), inject(0), records)) == expected


def test_probe_without_op_after_t0_is_unknown() -> None:
    # pg-write stops before T0; api recovers at 102 ms. The drill RTO is unknown, and still
    # reports the largest RTO that was measured.
    j = journal(header([probe("pg-write"), probe("api", kind="http.request", role="read")]),
                ticks("pg-write", -500, 5), inject(0),
                op("api", 0, 0, 2, o="fail", e="refused"), ticks("api", 100, 5, first_seq=1))
    facts = gather_facts(j)
    ops = split_by_probe(j.ops)
    recoveries = {spec.name: measure_recovery(ops[spec.name], spec, facts.t0,
                                              facts.stable_window_ns) for spec in facts.probes}

    assert not recoveries["pg-write"].observed
    rto = drill_rto(recoveries, facts.probes, facts.t0, 30.0)
    assert (rto.rto_ns, rto.probe, rto.verdict, rto.reason) == (
        102 * MS, "api", "unknown", "critical probe pg-write has no op after T0")


def test_drill_rto_is_the_largest_critical_rto_and_can_miss_its_objective() -> None:
    # pg-write recovers at 302 ms, api at 502 ms, batch (not critical) at 902 ms.
    j = journal(header([probe("pg-write"), probe("api", kind="http.request", role="read"),
                        probe("batch", critical=False)]), inject(0),
                op("pg-write", 0, 0, 2, o="fail"), ticks("pg-write", 300, 5, first_seq=1),
                op("api", 0, 0, 2, o="fail"), ticks("api", 500, 5, first_seq=1),
                op("batch", 0, 0, 2, o="fail"), ticks("batch", 900, 5, first_seq=1))
    facts = gather_facts(j)
    ops = split_by_probe(j.ops)
    recoveries = {spec.name: measure_recovery(ops[spec.name], spec, facts.t0,
                                              facts.stable_window_ns) for spec in facts.probes}

    met = drill_rto(recoveries, facts.probes, facts.t0, 30.0)
    assert (met.rto_ns, met.bound_ns, met.probe, met.verdict, met.reason) == (
        502 * MS, 100 * MS, "api", "met", None)
    missed = drill_rto(recoveries, facts.probes, facts.t0, 0.5)
    assert (missed.verdict, missed.reason) == (
        "missed", "RTO 0.502 s (probe api) exceeds the objective of 0.5 s")


def test_without_t0_the_rto_is_unknown() -> None:
    j = journal(header([probe("pg-write")]), ticks("pg-write", 0, 5))
    facts = gather_facts(j)
    spec = facts.probes[0]
    found = measure_recovery(split_by_probe(j.ops)["pg-write"], spec, None, 0)

    assert not found.observed
    rto = drill_rto({"pg-write": found}, facts.probes, facts.t0, 30.0)
    assert (rto.rto_ns, rto.verdict, rto.reason) == (
        None, "unknown", "no fault was injected, so T0 is unknown")


def test_recovery_after_a_long_flapping_is_found() -> None:
    # 5000 ops alternate fail (even seqs) and ok (odd seqs) from T0, then 1000 oks. Only
    # the last ok of the flapping (seq 4999, invoked at 499.9 s) has a clean window behind
    # it: RTO = 499.9 s + 2 ms. Its search crosses the first slice of candidates.
    flapping = [op("pg-write", n, n * 100, n * 100 + 2, o="ok" if n % 2 else "fail",
                   e=None if n % 2 else "refused") for n in range(5000)]
    j = journal(header([probe("pg-write")]), inject(0), flapping,
                ticks("pg-write", 500_000, 1000, first_seq=5000))

    assert recovery(j).rto_ns == 499_902 * MS
