"""The drill file: objectives, guardrails, regions, probes, the fault and the steps."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, PositiveFloat

from drdrill.drills.schema.common import Strict
from drdrill.drills.schema.faults import FaultSpec
from drdrill.drills.schema.probes import ProbeSpec
from drdrill.drills.schema.steps import StepSpec
from drdrill.drills.schema.targets import Region


class Objectives(Strict):
    rto_seconds: PositiveFloat | None = Field(None, description="the drill's RTO must not exceed")
    rpo_seconds: Annotated[float, Field(ge=0)] | None = Field(
        None, description="no store's RPO may exceed"
    )


class Guardrails(Strict):
    baseline_min_success: Annotated[float, Field(ge=0, le=1)] = Field(
        0.99, description="a critical probe below this success rate in the baseline stops the"
        " drill before the fault"
    )
    baseline_max_p99_ms: PositiveFloat | None = Field(
        None, description="the same for a critical probe's p99 latency in the baseline"
    )


class DrillFile(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", description="used in run directory names")
    description: str = ""
    objectives: Objectives
    stable_window_seconds: PositiveFloat = Field(
        5, description="a probe has recovered when every op is ok for this long"
    )
    baseline_seconds: PositiveFloat = Field(5, description="how long probes run before the fault")
    recovery_budget_seconds: PositiveFloat = Field(
        300, description="from T0; when spent, the drill aborts (fault lifted, rollback run)"
    )
    guardrails: Guardrails = Guardrails()
    regions: dict[str, Region] = Field(
        min_length=1, description="region name -> its targets; targets are named region.family"
    )
    probes: list[ProbeSpec] = Field(min_length=1)
    fault: FaultSpec | list[FaultSpec] = Field(
        description="one fault, or several injected back to back at T0"
    )
    failover: list[StepSpec] = Field(default_factory=list, description="run in order after T0")
    rollback: list[StepSpec] = Field(
        default_factory=list, description="run only on abort, after the fault is lifted"
    )
    failback: list[StepSpec] = Field(
        default_factory=list, description="run after verification, measured like failover"
    )

    @property
    def faults(self) -> list[Any]:
        """The faults in injection order, whether the file gave one or a list."""
        return list(self.fault) if isinstance(self.fault, list) else [self.fault]

    def target(self, ref: str | None) -> Any:
        """The target model a `region.family` reference names (None when absent or None)."""
        if ref is None:
            return None

        region, _, family = ref.partition(".")
        found = self.regions.get(region)
        return getattr(found, family, None) if found is not None else None
