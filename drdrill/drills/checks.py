"""Preflight checks: for each fault and step kind, a read-only look at whether it could run.

A check answers "is the target reachable, and may we do this to it?" without changing
anything: the standby is in recovery and our role may call pg_promote; AWS answers a DryRun;
kubectl says we may delete the pod. Modules that implement a fault or a step register its
check here under the same kind (`@register_preflight_check("postgres.promote")`), so
`drdrill preflight` needs to know none of them.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from drdrill.drills.schema import DrillFile


class CheckStatus(enum.StrEnum):
    OK = "ok"
    FAILED = "failed"
    UNCHECKED = "unchecked"  # no check exists for this kind: nothing is known
    ERROR = "error"  # the check itself crashed or hung: unknown, not passed


@dataclass(frozen=True)
class CheckResult:
    """The answer of one check: its status and one line saying what was found."""

    status: CheckStatus
    detail: str

    @classmethod
    def ok(cls, detail: str) -> CheckResult:
        return cls(CheckStatus.OK, detail)

    @classmethod
    def failed(cls, detail: str) -> CheckResult:
        return cls(CheckStatus.FAILED, detail)


PreflightCheck = Callable[[Any, DrillFile], Awaitable[CheckResult]]
_CHECKS: dict[str, PreflightCheck] = {}


def register_preflight_check(*kinds: str) -> Callable[[PreflightCheck], PreflightCheck]:
    """Register the read-only check of one or more fault or step kinds (a decorator)."""

    def register(check: PreflightCheck) -> PreflightCheck:
        for kind in kinds:
            _CHECKS[kind] = check
        return check

    return register


def preflight_check(kind: str) -> PreflightCheck | None:
    """The check registered for `kind`, or None."""
    return _CHECKS.get(kind)
