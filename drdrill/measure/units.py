"""Units of summary.json: seconds and milliseconds rounded to the microsecond.

Rounding makes the summary reproducible byte for byte and keeps it from claiming a precision
the probes do not have (their resolution is the probe interval, milliseconds at best).
"""

from __future__ import annotations


def seconds(ns: int | float | None) -> float | None:
    """A duration in ns as seconds rounded to the microsecond; None stays None."""
    return None if ns is None else round(ns / 1e9, 6)


def since(t: int | None, origin: int | None) -> float | None:
    """Seconds from `origin` to `t`; None when either is unknown."""
    return None if t is None or origin is None else seconds(t - origin)


def millis(ms: float) -> float:
    """Milliseconds rounded to the microsecond."""
    return round(ms, 3)
