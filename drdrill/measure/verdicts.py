"""Three-valued verdicts: an objective is met, missed or unknown, and unknown is never met.

A measurement that could not be made (no T0, a failed final read) says "unknown", and unknown
is never rounded to "met": an audit must not read a missing number as a good one. "missed"
wins over "unknown" when it is certain: a critical probe that never recovered misses the RTO
whatever the probes that could not be measured would have shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

MET = "met"
MISSED = "missed"
UNKNOWN = "unknown"
ABORTED = "aborted"


def exceeds(measured_ns: int, objective_s: float | None) -> bool:
    """True when a measurement is above its objective (never true without an objective)."""
    return objective_s is not None and measured_ns > round(objective_s * 1e9)


def combine(verdicts: Iterable[str]) -> str:
    """missed if any is missed, else unknown if any is unknown, else met (met for none)."""
    seen = set(verdicts)
    if MISSED in seen:
        return MISSED
    if UNKNOWN in seen:
        return UNKNOWN
    return MET


def overall_verdict(end: dict[str, Any] | None, objective_verdicts: Iterable[str]) -> str:
    """The run's verdict: aborted without an `end` record or when aborted, else `combine`."""
    if end is None or end.get("status") != "completed":
        return ABORTED
    return combine(objective_verdicts)
