"""`drdrill simulate`: start the two-region topology, write its drill file, run it, stop it all.

The drill the simulator runs is an ordinary drill file (saved in the run directory as
`drill.yaml`) executed by the ordinary runner; the simulator only adds what a real deployment
cannot give: the ground truth of what was lost, worked out from the servers themselves.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml

from drdrill.drills.execute import execute_drill
from drdrill.drills.loader import load_drill
from drdrill.drills.runner import DrillHooks, DrillRun, default_run_dir
from drdrill.sim.chaos import CHAOS_SCENARIOS
from drdrill.sim.component import DrillSlice, SimComponent, SimEnv
from drdrill.sim.procs import stop_all
from drdrill.sim.proxy import FaultProxy
from drdrill.sim.proxy_control import start_control
from drdrill.sim.scenarios import ScenarioOptions

logger = logging.getLogger(__name__)

DRILL_FILE_NAME = "drill.yaml"


def default_components(options: ScenarioOptions) -> list[SimComponent]:
    """The stores and services of the embedded topology, in start order."""
    from drdrill.sim.clickhouse import ClickHouseComponent
    from drdrill.sim.nats import NatsComponent
    from drdrill.sim.postgres import PostgresComponent
    from drdrill.sim.route53 import Route53Component

    if options.name in CHAOS_SCENARIOS:
        # These scenarios cut client links of the fault proxy; only the PostgreSQL
        # component routes its clients through the proxy so far.
        return [PostgresComponent()]
    return [PostgresComponent(), NatsComponent(), ClickHouseComponent(), Route53Component()]


def select_components(options: ScenarioOptions, names: list[str] | None) -> list[SimComponent]:
    """The default components, or only those named (in the default order)."""
    components = default_components(options)
    if names is None:
        return components

    known = [c.name for c in components]
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise ValueError(f"unknown components {unknown}; expected some of {known}")
    return [c for c in components if c.name in names]


class SimHooks(DrillHooks):
    """Lets each component act at the scenario's instants and report its truth."""

    def __init__(self, components: list[SimComponent], env: SimEnv) -> None:
        self.components = components
        self.env = env

    def header(self) -> dict[str, Any]:
        return {
            "scenario": self.env.scenario.name,
            "options": vars(self.env.scenario),
            "components": {c.name: c.facts() for c in self.components},
        }

    async def before_fault(self, drill: DrillRun) -> None:
        for component in self.components:
            await component.before_fault(drill, self.env)

    async def after_fault(self, drill: DrillRun) -> None:
        for component in self.components:
            await component.after_fault(drill, self.env)

    async def truth(self, drill: DrillRun) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        for component in self.components:
            records += await component.truth(drill, self.env)
        return records


def compose_drill(slices: list[DrillSlice], options: ScenarioOptions) -> dict[str, Any]:
    """The drill file (as data) of the whole topology for this scenario."""
    regions: dict[str, dict[str, Any]] = {}
    for part in slices:
        for region, targets in part.regions.items():
            regions.setdefault(region, {}).update(targets)

    return {
        "name": f"local-sim-{options.name}",
        "description": f"embedded simulator, scenario {options.name}",
        "objectives": {"rto_seconds": 30, "rpo_seconds": 1},
        "stable_window_seconds": options.stable_window_seconds,
        "baseline_seconds": options.baseline_seconds,
        "recovery_budget_seconds": 60,
        "regions": regions,
        "probes": [probe for part in slices for probe in part.probes],
        "fault": [fault for part in slices for fault in part.faults],
        "failover": [step for part in slices for step in part.failover],
        "rollback": [step for part in slices for step in part.rollback],
    }


async def simulate(
    options: ScenarioOptions,
    out: Path,
    components: list[SimComponent] | None = None,
) -> Path:
    """Run one simulated drill; returns the run directory. Every server is stopped at the end."""
    components = components if components is not None else default_components(options)
    workdir = Path(tempfile.mkdtemp(prefix="drdrill-sim-"))
    workdir.chmod(0o755)  # the servers run as an unprivileged user and must reach it
    proxy = FaultProxy()
    control = await start_control(proxy, 0)
    port = control.sockets[0].getsockname()[1]
    env = SimEnv(workdir, proxy, options, proxy_control=f"127.0.0.1:{port}")
    try:
        for component in components:
            logger.info("sim component starting component=%s", component.name)
            env.components[component.name] = component
            await component.start(env)

        drill = compose_drill([c.drill_slice(env) for c in components], options)
        run_dir = default_run_dir(out, drill["name"])
        run_dir.mkdir(parents=True, exist_ok=True)
        drill_path = run_dir / DRILL_FILE_NAME
        drill_path.write_text(yaml.safe_dump(drill, sort_keys=False))
        loaded = load_drill(drill_path)
        return await execute_drill(loaded, out, SimHooks(components, env), run_dir)
    finally:
        control.close()
        await _stop(components, proxy)
        shutil.rmtree(workdir, ignore_errors=True)


async def _stop(components: list[SimComponent], proxy: FaultProxy) -> None:
    for component in reversed(components):
        try:
            await component.stop()
        except Exception:  # keep stopping the others; the log says which failed
            logger.exception("sim component stop failed component=%s", component.name)
    with contextlib.suppress(Exception):
        await proxy.close()
    stop_all()
    logger.info("sim stopped")
