"""The plan of a drill: every action it would take and the exact target of each, in order.

`drdrill plan FILE` prints it and runs nothing; the runner performs exactly these actions.
"""

from __future__ import annotations

from typing import Any

import orjson

from drdrill.drills import step_catalog  # noqa: F401 - registers every kind
from drdrill.drills.faults import build_fault
from drdrill.drills.schema import DrillFile
from drdrill.drills.steps import step_label
from drdrill.redact import redact


def render_plan(drill: DrillFile) -> list[str]:
    """The plan as lines of text, secrets masked."""
    lines = [f"drill {drill.name}: {drill.description}".rstrip(": ")]
    lines.append(_objectives(drill))
    lines.append("probes (run from before the baseline to the end):")
    for spec in drill.probes:
        where = _where(drill, spec)
        flag = " critical" if spec.critical else ""
        lines.append(
            f"  - {spec.name} [{spec.kind}{flag}] every {spec.interval_ms} ms,"
            f" timeout {spec.timeout_ms} ms -> {where}"
        )

    lines.append(f"1. baseline for {drill.baseline_seconds:g} s")
    for fault_spec in drill.faults:
        fault = build_fault(fault_spec)
        lift = f", lifted {fault.lift_after:g} s after its inject" if fault.lift_after else ""
        lines.append(f"2. fault (T0): {fault.kind} -> {redact(fault.target)}{lift}")
    lines += _steps("3. failover", drill.failover, drill)
    lines.append(
        f"4. recovery: wait until critical probes are ok for {drill.stable_window_seconds:g} s"
        f" (budget {drill.recovery_budget_seconds:g} s from T0)"
    )
    lines.append("5. verification: final read of every store on its current target")
    lines += _steps("6. failback", drill.failback, drill)
    lines.append("7. teardown: lift the fault(s)")
    lines += _steps("on abort, rollback", drill.rollback, drill)
    return lines


def _objectives(drill: DrillFile) -> str:
    rto = drill.objectives.rto_seconds
    rpo = drill.objectives.rpo_seconds
    return f"objectives: RTO <= {rto if rto is not None else '-'} s," \
        f" RPO <= {rpo if rpo is not None else '-'} s"


def _steps(title: str, steps: list[Any], drill: DrillFile) -> list[str]:
    if not steps:
        return [f"{title}: none"]

    lines = [f"{title}:"]
    for spec in steps:
        where = _where(drill, spec)
        lines.append(
            f"  - {step_label(spec)} [{spec.kind}] -> {where}"
            f" (timeout {spec.timeout_seconds:g} s)"
        )
    return lines


# Fields that say how, not what: left out when a spec without a target is shown by its fields.
_HOW_FIELDS = {"kind", "name", "timeout_seconds", "interval_ms", "timeout_ms", "critical"}


def _where(drill: DrillFile, spec: Any) -> str:
    """What a probe or step acts on: its target, or else every field that names what it touches.

    A spec with no `region.family` target (a Route53 flip, a DNS or HTTP probe, a proxy heal)
    is shown by its own fields, so that the plan still names every record, URL or link.
    """
    if getattr(spec, "target", None) is not None:
        return _target_text(drill, spec.target)
    if hasattr(spec, "proxy") and hasattr(spec, "links"):
        return f"links {', '.join(spec.links)} of proxy {spec.proxy}"

    fields = spec.model_dump(mode="json", exclude_defaults=True, exclude=_HOW_FIELDS)
    return redact(orjson.dumps(fields).decode()) if fields else "-"


def _target_text(drill: DrillFile, ref: str | None) -> str:
    """`region.family (address)` with any secret in the address masked."""
    if ref is None:
        return "-"

    target = drill.target(ref)
    address = getattr(target, "dsn", None) or getattr(target, "url", None) or ""
    return f"{ref} ({redact(address)})" if address else ref
