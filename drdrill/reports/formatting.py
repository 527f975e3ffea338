"""How numbers read in every report: seconds with their bound, sequence ranges, unknowns."""

from __future__ import annotations

from typing import Any

UNKNOWN = "unknown"


def seconds_text(value: float | None, bound: float | None = None) -> str:
    """'2.300 s ± 0.100 s', '2.300 s' without a bound, 'unknown' without a value."""
    if value is None:
        return UNKNOWN
    if bound is None:
        return f"{value:.3f} s"
    return f"{value:.3f} s ± {bound:.3f} s"


def ranges_text(ranges: list[list[int]] | None) -> str:
    """[[42, 46], [50, 50]] -> '42–46, 50'; '' when there are none."""
    return ", ".join(str(lo) if lo == hi else f"{lo}–{hi}" for lo, hi in ranges or [])


def value_text(value: Any) -> str:
    """A count or free value as shown in a table cell ('unknown' for null)."""
    if value is None:
        return UNKNOWN
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)
