"""What the runner knows while the drill runs: each probe's recent outcomes.

The journal is the record; this is only for decisions the runner must take live (is the
baseline healthy, has every critical probe been stable for the window) and for progress.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from drdrill.drills.schema import Guardrails
from drdrill.errors import AbortDrill
from drdrill.probes.base import Outcome
from drdrill.probes.ticker import OpRecord


@dataclass
class LiveProbe:
    """Running counts and the current streak of one probe."""

    name: str
    critical: bool
    ops: int = 0
    ok: int = 0
    last_outcome: str | None = None
    last_latency_ms: float | None = None
    last_invoke_ns: int = 0
    streak_start_ns: int | None = None  # invoke of the first ok op since the last not-ok op
    failed_since_t0: bool = False
    latencies_ms: list[float] = field(default_factory=list)

    def record(self, op: OpRecord, t0_ns: int | None) -> None:
        """Fold one op into the counts."""
        self.ops += 1
        self.last_outcome = op.result.outcome.value
        self.last_invoke_ns = max(self.last_invoke_ns, op.invoke_ns)
        latency = (op.complete_ns - op.invoke_ns) / 1e6
        self.last_latency_ms = latency

        if op.result.outcome is Outcome.OK:
            self.ok += 1
            self.latencies_ms.append(latency)
            if self.streak_start_ns is None:
                self.streak_start_ns = op.invoke_ns
        else:
            self.streak_start_ns = None
            if t0_ns is not None and op.complete_ns >= t0_ns:
                self.failed_since_t0 = True

    def stable_for(self, window_ns: int) -> bool:
        """Whether every op of the last `window_ns` (or more) was ok."""
        if self.streak_start_ns is None:
            return False
        return self.last_invoke_ns - self.streak_start_ns >= window_ns

    def reset_counts(self) -> None:
        """Start counting afresh (at the start of the baseline)."""
        self.ops = 0
        self.ok = 0
        self.latencies_ms.clear()

    def p99_ms(self) -> float | None:
        """The 99th percentile latency of the ok ops counted so far."""
        if not self.latencies_ms:
            return None
        return float(np.percentile(np.asarray(self.latencies_ms), 99))


def check_baseline(lives: Iterable[LiveProbe], rails: Guardrails) -> None:
    """Raise `AbortDrill` saying why when a critical probe's counts break the guardrails."""
    for live in lives:
        if not live.critical:
            continue

        rate = live.ok / live.ops if live.ops else 0.0
        if rate < rails.baseline_min_success:
            raise AbortDrill(
                f"baseline unhealthy: probe {live.name} succeeded {live.ok}/{live.ops}"
                f" ops ({rate:.1%}); the guardrail asks for {rails.baseline_min_success:.1%}"
            )

        p99 = live.p99_ms()
        if rails.baseline_max_p99_ms is not None and p99 is not None:
            if p99 > rails.baseline_max_p99_ms:
                raise AbortDrill(
                    f"baseline unhealthy: probe {live.name} p99 latency {p99:.1f} ms"
                    f" exceeds the guardrail of {rails.baseline_max_p99_ms} ms"
                )
