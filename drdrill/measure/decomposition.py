"""Where the RTO went: detection, each failover step, and the time after the last step.

All instants are seconds from the origin (T0, or the run start when no fault was injected).
- detect: the earliest completion, over every probe, of the op that opened its outage: when
  the harness first saw the fault;
- steps: the failover steps (not failback, not rollback), start and end;
- insync: when the control plane reported the last DNS change of the failover in sync (the
  latest `detail.insync_t` of its steps);
- DNS convergence: when the last DNS probe to converge last saw the old answer (measure.dns);
  `dns_probes` gives each DNS probe's convergence, its bound and its flips;
- first stable HTTP: when the last HTTP probe recovered, i.e. when users were served again;
- after the last step: for each probe, its recovery minus the end of the last failover step,
  the part of the RTO the steps do not explain (replica catch-up, caches, DNS TTLs).
"""

from __future__ import annotations

import logging
from typing import Any

from drdrill.measure.classify import ProbeOps
from drdrill.measure.dns import DNS_KIND, DnsAnswers, DnsConvergence, dns_convergence
from drdrill.measure.facts import DrillFacts, ProbeSpec, failover_steps
from drdrill.measure.outages import ProbeRecovery, outage_start_index
from drdrill.measure.units import seconds, since

logger = logging.getLogger(__name__)

HTTP_KIND = "http.request"


def detect_instant(ops: dict[str, ProbeOps], t0: int | None) -> int | None:
    """The earliest completion of an outage-opening op over all probes (ns), or None."""
    if t0 is None:
        return None

    firsts = []
    for probe_ops in ops.values():
        start = outage_start_index(probe_ops, t0)
        if start is not None:
            firsts.append(int(probe_ops.c[start]))
    return min(firsts, default=None)


def last_step_end(facts: DrillFacts) -> int | None:
    """The end (ns) of the last failover step that ended, or None."""
    ends = [step.end_t for step in failover_steps(facts) if step.end_t is not None]
    return max(ends, default=None)


def first_stable_http(specs: list[ProbeSpec], recoveries: dict[str, ProbeRecovery],
                      t0: int | None) -> int | None:
    """When every HTTP probe was stably serving again (ns), or None without HTTP probes.

    A probe that never failed was serving all along (T0); one that never recovered makes it
    None.
    """
    http = [recoveries[spec.name] for spec in specs if spec.kind == HTTP_KIND]
    if t0 is None or not http or any(r.rto_ns is None for r in http):
        return None
    return t0 + max(r.rto_ns or 0 for r in http)


def dns_probes(facts: DrillFacts, answers: dict[str, DnsAnswers]) -> list[DnsConvergence]:
    """The convergence of every DNS probe of the header, in header order."""
    return [dns_convergence(answers[spec.name], facts.t0)
            for spec in facts.probes if spec.kind == DNS_KIND and spec.name in answers]


def decomposition(facts: DrillFacts, ops: dict[str, ProbeOps],
                  recoveries: dict[str, ProbeRecovery],
                  answers: dict[str, DnsAnswers]) -> dict[str, Any]:
    """The `decomposition` object of summary.json (seconds from the origin)."""
    origin = facts.origin
    steps = failover_steps(facts)
    insync = [int(step.detail["insync_t"]) for step in steps if step.detail.get("insync_t")]
    dns = dns_probes(facts, answers)
    intervals = {spec.name: spec.interval_ns for spec in facts.probes}
    converged = [probe.converged for probe in dns if probe.converged is not None]
    return {
        "detect_seconds": since(detect_instant(ops, facts.t0), origin),
        "steps": [{"name": step.name, "kind": step.kind, "ok": step.ok,
                   "start_seconds": since(step.start_t, origin),
                   "end_seconds": since(step.end_t, origin)} for step in steps],
        "insync_seconds": since(max(insync), origin) if insync else None,
        "dns_converged_seconds": since(max(converged), origin) if converged else None,
        "first_stable_http_seconds": since(
            first_stable_http(facts.probes, recoveries, facts.t0), origin),
        "dns_probes": [{"probe": probe.name, "converged_seconds": since(probe.converged, origin),
                        "bound_seconds": seconds(intervals[probe.name]), "flips": probe.flips,
                        "final_answer": probe.final_answer} for probe in dns],
    }
