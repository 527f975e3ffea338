"""Checks across the fields of a drill file that a schema alone cannot express.

A probe's `target` must name a target that exists and is of the probe's family; a replica
probe must watch a write probe; a step must name existing targets and probes.
"""

from __future__ import annotations

from drdrill.drills.schema import DrillFile


def check_references(drill: DrillFile) -> list[str]:
    """Every dangling or mismatched reference, one line each, naming the field."""
    problems: list[str] = []
    problems += _check_probe_names(drill)
    problems += _check_probe_targets(drill)
    problems += _check_steps(drill)
    problems += _check_budget(drill)
    return problems


def _check_budget(drill: DrillFile) -> list[str]:
    """A budget shorter than the stable window could never see a probe recover."""
    if drill.recovery_budget_seconds > drill.stable_window_seconds:
        return []
    return [
        f"recovery_budget_seconds: {drill.recovery_budget_seconds:g} must exceed"
        f" stable_window_seconds ({drill.stable_window_seconds:g}), or no recovery can be seen"
    ]


def _check_probe_names(drill: DrillFile) -> list[str]:
    seen: set[str] = set()
    problems = []
    for index, probe in enumerate(drill.probes):
        if probe.name in seen:
            problems.append(f"probes[{index}].name: {probe.name!r} is used by another probe")
        seen.add(probe.name)
    return problems


def _check_probe_targets(drill: DrillFile) -> list[str]:
    writes = {p.name for p in drill.probes if p.kind.endswith(".write")}
    problems = []
    for index, probe in enumerate(drill.probes):
        target = getattr(probe, "target", None)
        if target is not None:
            problems += _check_target(drill, f"probes[{index}].target", target, probe.kind)

        watches = getattr(probe, "watches", None)
        if watches is not None and watches not in writes:
            problems.append(
                f"probes[{index}].watches: {watches!r} is not a write probe of this drill"
                f" (write probes: {sorted(writes)})"
            )
    return problems


def _check_target(drill: DrillFile, field: str, ref: str, kind: str) -> list[str]:
    region, _, family = ref.partition(".")
    if region not in drill.regions:
        return [f"{field}: region {region!r} is not declared (regions: {sorted(drill.regions)})"]
    if drill.target(ref) is None:
        return [f"{field}: region {region!r} has no {family!r} target"]
    if not kind.startswith(family + "."):
        return [f"{field}: a {kind} probe cannot use the {family} target {ref!r}"]
    return []


def _check_steps(drill: DrillFile) -> list[str]:
    probe_names = {p.name for p in drill.probes}
    problems = []
    for section in ("failover", "rollback", "failback"):
        for index, step in enumerate(getattr(drill, section)):
            field = f"{section}[{index}]"
            target = getattr(step, "target", None)
            if target is not None and drill.target(target) is None:
                problems.append(f"{field}.target: {target!r} names no declared target")

            for key in ("switch_probes", "pinned_probes"):
                for name in getattr(step, key, None) or []:
                    if name not in probe_names:
                        problems.append(f"{field}.{key}: {name!r} is not a probe")
    return problems
