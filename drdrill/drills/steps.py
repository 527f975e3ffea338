"""Failover, rollback and failback steps: the registry and the steps drdrill ships for PostgreSQL.

A step is an async function `(spec, context) -> StepResult` registered under its `kind`. It
raises `StepError` when it cannot complete; the runner journals its start, its end and its
outcome, and never lets a step's failure stop the drill from measuring what happened.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from drdrill.drills.schema import DrillFile
from drdrill.errors import StepError
from drdrill.probes.base import Probe

logger = logging.getLogger(__name__)


@dataclass
class StepContext:
    """What a step may touch: the drill, and the probes whose routes it may switch."""

    drill: DrillFile
    probes: dict[str, Probe]


@dataclass
class StepResult:
    """What a step changed: stores it promoted (`store`, `from`, `to`) and free-form facts."""

    promotes: list[dict[str, str]] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)


StepRunner = Callable[[Any, StepContext], Awaitable[StepResult]]
_STEPS: dict[str, StepRunner] = {}


def register_step(kind: str) -> Callable[[StepRunner], StepRunner]:
    """Register the runner of a step kind (a decorator)."""

    def register(func: StepRunner) -> StepRunner:
        _STEPS[kind] = func
        return func

    return register


def step_runner(kind: str) -> StepRunner:
    """The runner of a step kind; raises `StepError` for a kind with no runner."""
    try:
        return _STEPS[kind]
    except KeyError:
        raise StepError(f"no runner for step kind {kind!r}") from None


def step_label(spec: Any) -> str:
    """A step's name: its own, or its kind and target."""
    return spec.name or f"{spec.kind}:{getattr(spec, 'target', '')}".rstrip(":")


def switch_write_probes(
    context: StepContext, names: list[str] | None, kind: str, target_ref: str
) -> list[dict[str, str]]:
    """Repoint write probes to `target_ref`; returns the `promotes` entries for the journal.

    `names` None means every write probe of `kind`.
    """
    target = context.drill.target(target_ref)
    chosen = [
        probe
        for probe in context.probes.values()
        if (probe.name in names if names is not None else probe.kind == kind)
    ]
    promotes = []
    for probe in chosen:
        previous = probe.route.switch(target_ref, target)
        logger.info("probe switched probe=%s from=%s to=%s", probe.name, previous, target_ref)
        if probe.role == "write":
            promotes.append({"store": probe.name, "from": previous, "to": target_ref})
    return promotes


@register_step("sleep")
async def run_sleep(spec: Any, context: StepContext) -> StepResult:
    """Wait; useful between steps that need the world to settle."""
    await asyncio.sleep(spec.seconds)
    return StepResult()


@register_step("postgres.promote")
async def run_postgres_promote(spec: Any, context: StepContext) -> StepResult:
    """Promote a standby with pg_promote(wait => true), then repoint the write probes to it.

    Refuses a target that is not in recovery: promoting a primary would be a no-op that hides
    a wrong drill file.
    """
    target = context.drill.target(spec.target)
    try:
        conn = await asyncpg.connect(target.dsn, timeout=target.connect_timeout_ms / 1000)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        raise StepError(f"cannot connect to {spec.target}: {exc}") from exc

    try:
        if not await conn.fetchval("SELECT pg_is_in_recovery()"):
            raise StepError(f"{spec.target} is not a standby (pg_is_in_recovery() is false)")

        wait = max(1, int(spec.timeout_seconds))
        promoted = await conn.fetchval("SELECT pg_promote(true, $1)", wait)
    except asyncpg.PostgresError as exc:
        raise StepError(f"pg_promote on {spec.target} failed: {exc}") from exc
    finally:
        await conn.close()

    if not promoted:
        raise StepError(f"{spec.target} did not finish promotion within {wait} s")

    promotes = switch_write_probes(context, spec.switch_probes, "postgres.write", spec.target)
    # A pinned writer stays on the old primary: its store's new primary is the one promoted
    # here all the same, so what the old one acknowledges from now on is split-brain.
    promotes += [
        {"store": name, "from": context.probes[name].route.name, "to": spec.target}
        for name in spec.pinned_probes
    ]
    return StepResult(promotes=promotes, detail={"pg_promote": True})
