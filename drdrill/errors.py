"""Errors split by who is at fault: the drill file, the target system, or drdrill itself.

Each reaches the user differently: a drill-file error names the file, the field and the bad
value and exits 2 before anything runs; a target error is something the drill measures or
could not do (a step that failed); a `DrdrillBug` is ours and says so.
"""

from __future__ import annotations

from pathlib import Path


class DrdrillError(Exception):
    """Base of every error drdrill raises on purpose."""


class DrillFileError(DrdrillError):
    """The drill file is wrong: bad YAML, a wrong type, a missing or unknown field.

    `problems` holds one line per problem, each naming the field path and the bad value.
    """

    def __init__(self, path: Path | str, problems: list[str]) -> None:
        self.path = str(path)
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{self.path}: invalid drill file\n{lines}")


class TargetError(DrdrillError):
    """A target system refused or failed what the drill asked of it (a step, a final read)."""


class StepError(TargetError):
    """A failover, rollback or failback step did not complete."""


class FaultError(TargetError):
    """A fault could not be injected or lifted."""


class AbortDrill(DrdrillError):
    """The drill must stop now: Ctrl-C, SIGTERM, an unhealthy baseline, an RTO budget spent."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class DrdrillBug(DrdrillError):
    """Something drdrill itself got wrong; please report it with the run's journal."""
