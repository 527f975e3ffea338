"""A part of the simulated two-region topology: its servers, its slice of the drill file, its truth.

The simulator writes a real drill file from its components and runs it with the same runner as
any drill; a component adds only what a real deployment would have (targets, probes, steps) and,
beside the drill, the ground truth that only a simulator can know.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from drdrill.drills.runner import DrillRun
    from drdrill.sim.proxy import FaultProxy
    from drdrill.sim.scenarios import ScenarioOptions

PRIMARY = "primary"
SECONDARY = "secondary"


@dataclass
class SimEnv:
    """What every component shares: a work directory, the fault proxy, the scenario."""

    workdir: Path
    proxy: FaultProxy
    scenario: ScenarioOptions
    components: dict[str, SimComponent] = field(default_factory=dict)
    # HOST:PORT of the proxy's control port, for proxy faults and steps in the drill file.
    proxy_control: str = ""


@dataclass
class DrillSlice:
    """A component's part of the drill file (plain data, as it would be written in YAML)."""

    regions: dict[str, dict[str, Any]] = field(default_factory=dict)
    probes: list[dict[str, Any]] = field(default_factory=list)
    faults: list[dict[str, Any]] = field(default_factory=list)
    failover: list[dict[str, Any]] = field(default_factory=list)
    rollback: list[dict[str, Any]] = field(default_factory=list)


class SimComponent(abc.ABC):
    """One store or service of the simulated topology."""

    name: str

    @abc.abstractmethod
    async def start(self, env: SimEnv) -> None:
        """Start the servers of both regions and wire them through the proxy."""

    @abc.abstractmethod
    def drill_slice(self, env: SimEnv) -> DrillSlice:
        """The targets, probes, region-failure faults and failover steps of this component."""

    def facts(self) -> dict[str, Any]:
        """What the journal's `sim` record says about this component (backend, versions)."""
        return {}

    async def before_fault(self, run: DrillRun, env: SimEnv) -> None:  # noqa: B027
        """Scenario actions at the end of the baseline (e.g. pause replication)."""

    async def after_fault(self, run: DrillRun, env: SimEnv) -> None:  # noqa: B027
        """Scenario actions just after T0 (e.g. drop what a paused link still holds)."""

    async def truth(self, run: DrillRun, env: SimEnv) -> list[dict[str, Any]]:
        """`truth` records worked out from the servers, independently of the probes."""
        return []

    @abc.abstractmethod
    async def stop(self) -> None:
        """Stop every server this component started; safe to call twice."""
