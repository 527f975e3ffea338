"""The `exec` fault, and the one way drdrill runs a command: an argument list, never a shell.

A shell string would let a value from the drill file (a service name, a pod) become shell
syntax; an argument list passes each value as one argument, whatever it holds. Every command
runs in its own session with a timeout, and is killed with its children when the timeout
passes or the drill is interrupted, so that no command outlives the drill that started it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shlex
import shutil
import signal
from collections.abc import Mapping, Sequence
from typing import Any

from drdrill.drills.checks import CheckResult, register_preflight_check
from drdrill.drills.faults import Fault, register_fault
from drdrill.drills.schema import DrillFile
from drdrill.errors import FaultError
from drdrill.redact import redact, remember_secrets

logger = logging.getLogger(__name__)

# How much of a failed command's stderr an error message quotes.
STDERR_TAIL_CHARS = 500


async def run_command(
    argv: Sequence[str],
    *,
    timeout_s: float,
    what: str,
    env: Mapping[str, str] | None = None,
) -> str:
    """Run `argv` (no shell) with `env` added to ours; returns its stdout as text.

    Raises `FaultError` naming `what` when it cannot start, fails, or outlives `timeout_s`.
    """
    command = redact(shlex.join(argv))
    logger.info("command started what=%s argv=%s", what, command)
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
    except OSError as exc:
        raise FaultError(f"{what}: cannot run {argv[0]!r}: {exc.strerror or exc}") from exc

    try:
        async with asyncio.timeout(timeout_s):
            stdout, stderr = await process.communicate()
    except TimeoutError:
        await _kill_session(process)
        raise FaultError(f"{what}: {command} timed out after {timeout_s:g} s") from None
    except BaseException:  # interrupted: the command must not outlive the drill
        await _kill_session(process)
        raise

    if process.returncode != 0:
        tail = stderr.decode(errors="replace").strip()[-STDERR_TAIL_CHARS:]
        logger.error("command failed what=%s code=%s", what, process.returncode)
        raise FaultError(redact(f"{what}: {command} exited with {process.returncode}: {tail}"))
    logger.info("command complete what=%s", what)
    return stdout.decode(errors="replace")


async def _kill_session(process: asyncio.subprocess.Process) -> None:
    """SIGKILL the command and everything it started (its session's process group)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    await process.wait()


@register_fault("exec")
def exec_fault(spec: Any) -> Fault:
    """Run `argv` to inject and `lift_argv` (if any) to lift."""
    remember_secrets(spec.env.values())

    async def inject() -> None:
        await run_command(spec.argv, timeout_s=spec.timeout_seconds, what=f"exec {spec.label}",
                          env=spec.env)

    async def lift() -> None:
        if spec.lift_argv is not None:
            await run_command(spec.lift_argv, timeout_s=spec.timeout_seconds,
                              what=f"exec {spec.label} (lift)", env=spec.env)

    lifted = f"; lift: {shlex.join(spec.lift_argv)}" if spec.lift_argv else ""
    target = redact(f"{spec.label}: {shlex.join(spec.argv)}{lifted}")
    return Fault(spec.kind, target, inject, lift, spec.duration_seconds)


@register_preflight_check("exec")
async def check_exec(spec: Any, drill: DrillFile) -> CheckResult:
    """The programs of `argv` and `lift_argv` exist and may be executed; nothing is run."""
    for argv in (spec.argv, spec.lift_argv or []):
        if argv:
            problem = program_problem(argv[0])
            if problem:
                return CheckResult.failed(problem)
    return CheckResult.ok(f"{spec.argv[0]} is executable")


def program_problem(program: str) -> str | None:
    """Why `program` (a path or a name on PATH) cannot be run, or None when it can."""
    found = shutil.which(program)
    if found is None:
        return f"{program!r} is not an executable file nor a program on PATH"
    return None
