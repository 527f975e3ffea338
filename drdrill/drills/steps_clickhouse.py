"""ClickHouse failover step: run the promotion SQL the drill file lists, repoint the writers.

ClickHouse has no single "promote" command: what makes a replica the place to write depends on
the deployment (a Keeper path, a Distributed table, a load balancer). The drill file lists the
statements its deployment needs (for example `SYSTEM RESTART REPLICA db.t`); the step runs them
in order on the target, then switches the write probes. The final read of the run's rows on
the new target is the runner's verification phase.
"""

from __future__ import annotations

import logging
from typing import Any

from clickhouse_connect.driver.exceptions import Error

from drdrill.drills.steps import StepContext, StepResult, register_step, switch_write_probes
from drdrill.errors import StepError
from drdrill.probes.clickhouse import close_quietly, connect

logger = logging.getLogger(__name__)


@register_step("clickhouse.switch")
async def run_clickhouse_switch(spec: Any, context: StepContext) -> StepResult:
    """Check the target answers, run `spec.statements` on it, then repoint the write probes.

    A target that does not answer, or a statement that fails, fails the step and leaves every
    probe where it was: writers are never pointed at a server the step could not use.
    """
    target = context.drill.target(spec.target)
    try:
        client = await connect(target, spec.timeout_seconds)
    except Error as exc:
        raise StepError(f"cannot connect to {spec.target}: {exc}") from exc

    ran: list[str] = []
    try:
        for statement in spec.statements:
            logger.info("clickhouse statement started target=%s index=%d", spec.target, len(ran))
            try:
                await client.command(statement)
            except Error as exc:
                raise StepError(
                    f"{spec.target}: statement {len(ran) + 1} of {len(spec.statements)} failed"
                    f" ({statement!r}): {exc}"
                ) from exc
            ran.append(statement)
    finally:
        await close_quietly(client)

    promotes = switch_write_probes(context, spec.switch_probes, "clickhouse.write", spec.target)
    return StepResult(promotes=promotes, detail={"statements_run": len(ran)})
