"""The drill's RTO: the largest RTO among the critical probes, with its verdict.

Unknown when there is no T0 (no fault was injected) or a critical probe has no op after T0.
Missed when a critical probe never recovered, or the largest RTO exceeds the objective; either
is certain even while another critical probe is unknown, so missed wins over unknown.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from drdrill.measure.facts import ProbeSpec
from drdrill.measure.outages import ProbeRecovery
from drdrill.measure.verdicts import MET, MISSED, UNKNOWN, exceeds

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DrillRto:
    """The drill's RTO in ns (None when not measured), its bound, its probe, verdict and why."""

    rto_ns: int | None
    bound_ns: int | None
    probe: str | None
    verdict: str
    reason: str | None


def drill_rto(recoveries: dict[str, ProbeRecovery], probes: list[ProbeSpec], t0: int | None,
              objective_s: float | None) -> DrillRto:
    """The RTO of the drill over its critical probes; returns a DrillRto."""
    if t0 is None:
        return DrillRto(None, None, None, UNKNOWN, "no fault was injected, so T0 is unknown")

    critical = [spec for spec in probes if spec.critical]
    if not critical:
        return DrillRto(None, None, None, UNKNOWN, "the drill has no critical probe")

    never = [spec for spec in critical if recoveries[spec.name].never_recovered]
    if never:
        return _never_recovered(never, recoveries, objective_s)

    measured = [spec for spec in critical if recoveries[spec.name].rto_ns is not None]
    worst = max(measured, key=lambda spec: recoveries[spec.name].rto_ns or 0, default=None)
    rto_ns = None if worst is None else recoveries[worst.name].rto_ns
    bound_ns = None if worst is None else recoveries[worst.name].bound_ns
    name = None if worst is None else worst.name
    if rto_ns is not None and exceeds(rto_ns, objective_s):
        return DrillRto(rto_ns, bound_ns, name, MISSED,
                        f"RTO {rto_ns / 1e9:.3f} s (probe {name}) exceeds the objective of "
                        f"{objective_s} s")

    unobserved = [spec.name for spec in critical if not recoveries[spec.name].observed]
    if unobserved:
        subject = ("critical probe {} has" if len(unobserved) == 1 else "critical probes {} have")
        return DrillRto(rto_ns, bound_ns, name, UNKNOWN,
                        subject.format(", ".join(unobserved)) + " no op after T0")
    return DrillRto(rto_ns, bound_ns, name, MET, None)


def _never_recovered(never: list[ProbeSpec], recoveries: dict[str, ProbeRecovery],
                     objective_s: float | None) -> DrillRto:
    """Missed when a probe was still down past the objective; unknown when the journal ends
    (an abort, a crash) before the objective could be decided."""
    spec = max(never, key=lambda s: recoveries[s.name].down_at_least_ns or 0)
    recovery = recoveries[spec.name]
    down_s = (recovery.down_at_least_ns or 0) / 1e9
    if objective_s is not None and down_s > objective_s:
        return DrillRto(None, recovery.bound_ns, spec.name, MISSED,
                        f"critical probe {spec.name} never recovered: still down"
                        f" {down_s:.3f} s after T0, beyond the objective of {objective_s} s")
    return DrillRto(None, recovery.bound_ns, spec.name, UNKNOWN,
                    f"critical probe {spec.name} had not recovered when its ops end,"
                    f" {down_s:.3f} s after T0")
