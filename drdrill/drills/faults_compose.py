"""Docker compose faults: kill, pause or stop one service, through the docker CLI.

The CLI is given an argument list (`binary` from the drill file, default `docker`), never a
shell string. What each fault does and how it is lifted:

| kind | inject | lift |
|---|---|---|
| compose.kill | `docker compose kill SERVICE` (SIGKILL) | nothing: it stays down |
| compose.pause | `docker compose pause SERVICE` (freezer) | `docker compose unpause SERVICE` |
| compose.stop | `docker compose stop SERVICE` | `docker compose start SERVICE` |

A kill is not undone at teardown because bringing an old primary back by itself, next to the
promoted one, is a decision for the failback steps, not something to do behind the operator.
"""

from __future__ import annotations

import logging
from typing import Any

from drdrill.drills.checks import CheckResult, register_preflight_check
from drdrill.drills.faults import Fault, register_fault
from drdrill.drills.faults_exec import run_command
from drdrill.drills.schema import DrillFile
from drdrill.errors import FaultError

logger = logging.getLogger(__name__)

# fault kind -> (inject subcommand, lift subcommand or None)
_ACTIONS: dict[str, tuple[str, str | None]] = {
    "compose.kill": ("kill", None),
    "compose.pause": ("pause", "unpause"),
    "compose.stop": ("stop", "start"),
}


def compose_argv(spec: Any, *args: str) -> list[str]:
    """`docker compose [-f FILE]... [-p PROJECT] ARGS...` for this fault's project."""
    argv = [spec.binary, "compose"]
    for path in spec.files:
        argv += ["-f", path]
    if spec.project:
        argv += ["-p", spec.project]
    return argv + list(args)


def compose_where(spec: Any) -> str:
    """The plan's words for the service and project, e.g. `service db (project dr, -f a.yml)`."""
    extras = ([f"project {spec.project}"] if spec.project else []) + [f"-f {f}" for f in spec.files]
    return f"service {spec.service}" + (f" ({', '.join(extras)})" if extras else "")


@register_fault(*_ACTIONS)
def compose_fault(spec: Any) -> Fault:
    """Act on one compose service with the docker CLI; see the module's table."""
    inject_cmd, lift_cmd = _ACTIONS[spec.kind]

    async def inject() -> None:
        await run_command(compose_argv(spec, inject_cmd, spec.service),
                          timeout_s=spec.timeout_seconds, what=f"{spec.kind} {spec.service}")

    async def lift() -> None:
        if lift_cmd is not None:
            await run_command(compose_argv(spec, lift_cmd, spec.service),
                              timeout_s=spec.timeout_seconds,
                              what=f"{spec.kind} {spec.service} (lift)")

    return Fault(spec.kind, compose_where(spec), inject, lift, spec.duration_seconds)


@register_preflight_check(*_ACTIONS)
async def check_compose(spec: Any, drill: DrillFile) -> CheckResult:
    """The engine answers and the service has a running container (`compose ps`, read-only)."""
    argv = compose_argv(spec, "ps", "--status", "running", "--services")
    try:
        listed = await run_command(argv, timeout_s=spec.timeout_seconds, what="compose ps")
    except FaultError as exc:
        return CheckResult.failed(str(exc))

    running = listed.split()
    if spec.service not in running:
        return CheckResult.failed(
            f"service {spec.service!r} has no running container (running: {running})"
        )
    return CheckResult.ok(f"service {spec.service} is running")
