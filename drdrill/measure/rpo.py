"""RPO of each store and of the drill.

RPO of a store = ack time of the newest lost write - ack time of the newest acknowledged write
that survived and was invoked before the first lost one: the span of acknowledged data the
failover threw away. When no write survived before the first loss, the span starts at the
invoke time of the probe's first op (everything since the start was lost). 0 when nothing
acknowledged was lost. Both ends are completion times on our own monotonic clock: a database
clock never enters the arithmetic. The bound is one write interval: a loss that began just
after an ack is only seen at the next write.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from drdrill.measure.classify import ProbeOps
from drdrill.measure.facts import FinalRead, StoreSpec
from drdrill.measure.verdicts import MET, MISSED, UNKNOWN, exceeds

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoreRpo:
    """RPO of one store in ns (None when unknown), its bound, verdict and why."""

    rpo_ns: int | None
    bound_ns: int
    verdict: str
    reason: str | None


@dataclass(frozen=True)
class DrillRpo:
    """The largest RPO among the stores, the store it belongs to, verdict and why."""

    rpo_ns: int | None
    bound_ns: int | None
    store: str | None
    verdict: str
    reason: str | None


def rpo_ns(ops: ProbeOps, here: np.ndarray) -> int:
    """The RPO in ns of a store whose ops' presence in the final read is `here`."""
    acked = ops.good
    lost = acked & ~here
    if not lost.any():
        return 0

    newest_lost = int(ops.c[lost].max())
    first_lost_invoke = ops.i[lost].min()
    survivors = acked & here & (ops.i < first_lost_invoke)
    since = int(ops.c[survivors].max()) if survivors.any() else int(ops.i[0])
    # A survivor invoked before the first loss may still complete after the newest one (a
    # slow ack): nothing acknowledged after it was lost, hence 0.
    return max(0, newest_lost - since)


def store_rpo(ops: ProbeOps, here: np.ndarray | None, spec: StoreSpec, read: FinalRead | None,
              interval_ns: int, objective_s: float | None) -> StoreRpo:
    """RPO and verdict of one store; unknown without a successful final read."""
    if read is None:
        return StoreRpo(None, interval_ns, UNKNOWN, f"store {spec.name} has no final read")
    if here is None:
        return StoreRpo(None, interval_ns, UNKNOWN,
                        f"final read of store {spec.name} failed: {read.error}")

    measured = rpo_ns(ops, here)
    if exceeds(measured, objective_s):
        return StoreRpo(measured, interval_ns, MISSED,
                        f"RPO {measured / 1e9:.3f} s of store {spec.name} exceeds the objective"
                        f" of {objective_s} s")
    return StoreRpo(measured, interval_ns, MET, None)


def drill_rpo(stores: dict[str, StoreRpo]) -> DrillRpo:
    """The largest RPO among the stores; missed if any store missed, unknown if any unknown.

    The largest known RPO is reported even when another store's is unknown.
    """
    if not stores:
        return DrillRpo(None, None, None, UNKNOWN, "the drill has no store (no write probe)")

    known = {name: rpo for name, rpo in stores.items() if rpo.rpo_ns is not None}
    worst = max(known, key=lambda name: known[name].rpo_ns or 0, default=None)
    unknown = [rpo.reason for rpo in stores.values() if rpo.verdict == UNKNOWN]
    if worst is not None and known[worst].verdict == MISSED:
        # The worst store is the one that missed by most, so its reason speaks for the drill.
        verdict, reason = MISSED, known[worst].reason
    elif unknown:
        verdict, reason = UNKNOWN, "; ".join(str(text) for text in unknown)
    else:
        verdict, reason = MET, None

    logger.debug("drill rpo measured verdict=%s store=%s", verdict, worst)
    return DrillRpo(rpo_ns=None if worst is None else known[worst].rpo_ns,
                    bound_ns=None if worst is None else known[worst].bound_ns, store=worst,
                    verdict=verdict, reason=reason)
