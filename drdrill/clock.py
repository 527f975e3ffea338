"""The one clock that measures: the harness's monotonic clock, in integer nanoseconds.

Timestamps from databases or other hosts are never used for RTO or RPO arithmetic: their
clocks drift and jump. The monotonic reading is mapped to UTC once per run, so that reports can
show wall-clock instants without ever computing with them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


def now_ns() -> int:
    """The harness's monotonic clock in nanoseconds (the same clock asyncio's loop uses)."""
    return time.monotonic_ns()


@dataclass(frozen=True)
class ClockMapping:
    """One simultaneous reading of the monotonic clock and UTC, taken at the start of a run."""

    mono_ns: int
    utc: datetime

    @classmethod
    def take(cls) -> ClockMapping:
        """Read both clocks back to back and return the pair."""
        mono = time.monotonic_ns()
        return cls(mono_ns=mono, utc=datetime.now(UTC))

    def to_utc(self, mono_ns: int) -> datetime:
        """The UTC instant of a monotonic reading of this run."""
        return self.utc + timedelta(microseconds=(mono_ns - self.mono_ns) / 1000)

    def as_record(self) -> dict[str, object]:
        """The mapping as it is journaled in the `run` record."""
        return {"mono_ns": self.mono_ns, "utc": self.utc.isoformat()}
