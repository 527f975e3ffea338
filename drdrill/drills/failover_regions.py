"""What `drdrill failover --from A --to B` checks before it runs a drill file.

A runbook says "fail over from A to B" and names a drill file; the command refuses a file that
would do something else. The regions must be declared and differ, and the failover steps must
act on B: every step that names a target names one of B, and at least one does. Steps that
name no target (route53.flip, sleep, an ARC routing control) act on no region and are not
judged; a file made only of such steps cannot show that it fails over to B, so it is refused
too, with a hint to use `drdrill run`.
"""

from __future__ import annotations

from drdrill.drills.schema import DrillFile
from drdrill.drills.steps import step_label


def failover_region_problems(drill: DrillFile, from_region: str, to_region: str) -> list[str]:
    """Every reason the drill is not a failover from `from_region` to `to_region`, one line
    each; an empty list when it is."""
    declared = sorted(drill.regions)
    problems = [
        f"{option}: region {region!r} is not declared in the drill file (regions: {declared})"
        for option, region in (("--from", from_region), ("--to", to_region))
        if region not in drill.regions
    ]
    if from_region == to_region:
        problems.append(f"--from and --to both name {from_region!r}: a failover needs two regions")
    if problems:
        return problems

    return _step_problems(drill, to_region)


def _step_problems(drill: DrillFile, to_region: str) -> list[str]:
    """Steps aimed elsewhere than `to_region`, or the absence of any step aimed at it."""
    problems = []
    aimed_at_to = 0
    for index, step in enumerate(drill.failover):
        target = getattr(step, "target", None)
        if target is None:
            continue

        region = target.partition(".")[0]
        if region == to_region:
            aimed_at_to += 1
        else:
            problems.append(
                f"failover[{index}] ({step_label(step)}): targets {target!r}, which is not in"
                f" the --to region {to_region!r}"
            )

    if aimed_at_to == 0 and not problems:
        problems.append(
            f"no failover step targets the --to region {to_region!r} (steps without a target,"
            " such as route53.flip, name no region); use `drdrill run` for this file"
        )
    return problems
