"""`drdrill preflight FILE`: is this drill ready to run? Nothing is injected, no step runs.

Two looks, both read-only towards what the drill would act on:
1. the probes run for a few seconds through the runner's own probes and ticker, and their
   counts are judged by the drill's baseline guardrails, as the baseline phase would;
2. every fault, failover, rollback and failback entry gets the preflight check registered for
   its kind (`drdrill.drills.checks`): reachability and permission, never the action.

The write probes do write heartbeats (under a run id of their own, `preflight-...`), as a
drill's baseline would: that is how they prove the primary takes writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from dataclasses import dataclass, field
from typing import Any

from drdrill.clock import now_ns
from drdrill.drills import step_catalog  # noqa: F401 - registers every kind and its check
from drdrill.drills.checks import CheckResult, CheckStatus, preflight_check
from drdrill.drills.live import LiveProbe, check_baseline
from drdrill.drills.runner import OPEN_TIMEOUT_S
from drdrill.drills.schema import DrillFile
from drdrill.drills.steps import step_label
from drdrill.errors import AbortDrill
from drdrill.probes.catalog import build_probe
from drdrill.probes.ticker import Ticker
from drdrill.redact import redact

logger = logging.getLogger(__name__)

CHECK_TIMEOUT_S = 30.0


@dataclass
class CheckLine:
    """One check: where it sits in the drill (`failover[0]`), what it checks, its answer."""

    where: str
    kind: str
    label: str
    result: CheckResult


@dataclass
class PreflightReport:
    """What preflight found; `ready` when nothing failed."""

    drill: str
    seconds: float
    probes: dict[str, LiveProbe] = field(default_factory=dict)
    probe_problems: dict[str, str] = field(default_factory=dict)
    baseline_problem: str | None = None
    checks: list[CheckLine] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        failed = [c for c in self.checks
                  if c.result.status in (CheckStatus.FAILED, CheckStatus.ERROR)]
        return not (failed or self.probe_problems or self.baseline_problem)


async def run_preflight(drill: DrillFile, seconds: float) -> PreflightReport:
    """Run the probes for `seconds` and every registered check; returns what was found."""
    report = PreflightReport(drill.name, seconds)
    logger.info("preflight started drill=%s seconds=%g", drill.name, seconds)
    await _run_probes(drill, seconds, report)
    for where, spec in _actions(drill):
        report.checks.append(await _check(where, spec, drill))
    logger.info("preflight complete drill=%s ready=%s", drill.name, report.ready)
    return report


async def _run_probes(drill: DrillFile, seconds: float, report: PreflightReport) -> None:
    run_id = f"preflight-{secrets.token_hex(4)}"
    probes = {s.name: build_probe(s, drill.target(getattr(s, "target", None)), run_id)
              for s in drill.probes}
    report.probes = {s.name: LiveProbe(s.name, s.critical) for s in drill.probes}
    stop = asyncio.Event()
    tasks = []
    try:
        for spec in drill.probes:
            probe = probes[spec.name]
            try:
                await asyncio.wait_for(probe.open(), OPEN_TIMEOUT_S)
            except Exception as exc:  # the driver's; shown to the operator, masked
                report.probe_problems[spec.name] = f"cannot open: {exc!r}"
                continue

            ticker = Ticker(probe, spec.interval_ms * 1_000_000, spec.timeout_ms / 1000,
                            on_op=lambda op: report.probes[op.probe].record(op, None),
                            on_late=lambda *_: None)
            tasks.append(asyncio.create_task(ticker.run(now_ns(), stop)))
        await asyncio.sleep(seconds)
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        for probe in probes.values():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(probe.close(), 5)

    try:
        check_baseline(report.probes.values(), drill.guardrails)
    except AbortDrill as exc:
        report.baseline_problem = exc.reason


def _actions(drill: DrillFile) -> list[tuple[str, Any]]:
    """Every fault and step with where it sits in the drill file, in the plan's order."""
    actions = [(f"fault[{i}]", spec) for i, spec in enumerate(drill.faults)]
    for section in ("failover", "failback", "rollback"):
        actions += [(f"{section}[{i}]", spec) for i, spec in enumerate(getattr(drill, section))]
    return actions


async def _check(where: str, spec: Any, drill: DrillFile) -> CheckLine:
    is_fault = where.startswith("fault")
    label = getattr(spec, "label", None) or spec.kind if is_fault else step_label(spec)
    check = preflight_check(spec.kind)
    if check is None:
        result = CheckResult(CheckStatus.UNCHECKED, f"no preflight check for {spec.kind}")
        return CheckLine(where, spec.kind, label, result)

    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            result = await check(spec, drill)
    except TimeoutError:
        result = CheckResult(CheckStatus.ERROR, f"the check took over {CHECK_TIMEOUT_S:g} s")
    except Exception as exc:  # a crashing check knows nothing: unknown, with its error
        logger.exception("preflight check crashed kind=%s", spec.kind)
        result = CheckResult(CheckStatus.ERROR, f"the check crashed: {exc!r}")
    logger.info("preflight check kind=%s where=%s status=%s", spec.kind, where, result.status)
    return CheckLine(where, spec.kind, label, result)


def render_preflight(report: PreflightReport) -> list[str]:
    """The report as lines of text for the terminal, secrets masked."""
    lines = [f"preflight of drill {report.drill}: probes for {report.seconds:g} s,"
             " no fault, no step"]
    lines.append("probes:")
    for name, live in report.probes.items():
        problem = report.probe_problems.get(name)
        if problem:
            lines.append(f"  FAILED     {name}: {problem}")
            continue
        p99 = live.p99_ms()
        latency = f", p99 {p99:.1f} ms" if p99 is not None else ""
        lines.append(f"  {'ok' if live.ok == live.ops > 0 else 'degraded':<10} {name}:"
                     f" {live.ok}/{live.ops} ops ok{latency}")
    if report.baseline_problem:
        lines.append(f"  FAILED     {report.baseline_problem}")

    lines.append("checks:")
    for line in report.checks:
        status = line.result.status.value
        lines.append(f"  {status.upper() if status != 'ok' else status:<10} {line.where}"
                     f" {line.label} [{line.kind}]: {line.result.detail}")
    lines.append("verdict: ready" if report.ready else "verdict: not ready")
    return [redact(line) for line in lines]
