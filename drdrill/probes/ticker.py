"""The fixed-rate ticker that drives a probe: tick k is due at start + k * interval.

Due times never drift: they come from the start and the tick number, not from the end of the
previous op. Ops of one probe never overlap, so an op that outlives its interval makes the next
tick late. A tick late by less than one interval still runs (its lateness is in the journal as
invoke - due); ticks late by a whole interval or more are skipped and journaled as a `late`
record, so a gap in a write probe's sequence numbers is never mistaken for a lost write.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from drdrill.clock import now_ns
from drdrill.probes.base import ErrorKind, OpResult, Outcome, Probe

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class OpRecord:
    """One completed op, as the ticker hands it to its sink."""

    probe: str
    seq: int
    due_ns: int
    invoke_ns: int
    complete_ns: int
    result: OpResult
    target: str

    def as_journal(self) -> dict[str, object]:
        """The op's journal record (docs/journal.md, `op`); a probe's extra keys (a DNS op's
        `a` and `ttl`) come after `v`."""
        result = self.result
        return {
            "k": "op",
            "p": self.probe,
            "s": self.seq,
            "d": self.due_ns,
            "i": self.invoke_ns,
            "c": self.complete_ns,
            "o": result.outcome.value,
            "e": result.error.value if result.error else None,
            "r": self.target,
            "v": result.value,
            **(result.extra or {}),
        }


def staggered_start(start_ns: int, index: int, count: int, interval_ns: int) -> int:
    """The first due time of probe `index` of `count`: spread evenly over its interval.

    Probes that all tick at the same instant queue behind one another on the event loop, so
    the last of fifty would always run a few milliseconds late; spreading their phases keeps
    each tick's lateness down to the loop's own wake-up precision.
    """
    return start_ns + (index * interval_ns) // max(count, 1)


OpSink = Callable[[OpRecord], None]
LateSink = Callable[[str, int, int, int], None]


@dataclass
class Ticker:
    """Runs `probe.op` once per tick until `stop` is set.

    `now` and `sleep` can be injected so that the timing logic is tested without waiting.
    """

    probe: Probe
    interval_ns: int
    timeout_s: float
    on_op: OpSink
    on_late: LateSink
    now: Callable[[], int] = now_ns
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    async def run(self, start_ns: int, stop: asyncio.Event) -> None:
        """Tick from `start_ns` until `stop` is set; the op in flight is allowed to finish."""
        seq = 0
        while not stop.is_set():
            due = start_ns + seq * self.interval_ns
            wait_ns = due - self.now()
            if wait_ns > 0:
                await self.sleep(wait_ns / 1e9)
                if stop.is_set():
                    break

            seq, due = self._skip_late_ticks(start_ns, seq)
            await self._tick(seq, due)
            seq += 1

    def _skip_late_ticks(self, start_ns: int, seq: int) -> tuple[int, int]:
        """Skip every tick whose whole interval has already passed; return the tick to run."""
        now = self.now()
        current = (now - start_ns) // self.interval_ns
        if current <= seq:
            return seq, start_ns + seq * self.interval_ns

        self.on_late(self.probe.name, seq, current - 1, now)
        return current, start_ns + current * self.interval_ns

    async def _tick(self, seq: int, due: int) -> None:
        target = self.probe.route.name
        invoke = self.now()
        result = await self._op_with_timeout(seq)
        complete = self.now()
        self.on_op(OpRecord(self.probe.name, seq, due, invoke, complete, result, target))

    async def _op_with_timeout(self, seq: int) -> OpResult:
        try:
            async with asyncio.timeout(self.timeout_s):
                return await self.probe.op(seq)
        except TimeoutError:
            await self.probe.on_timeout()
            return OpResult(self.probe.timeout_outcome, ErrorKind.TIMEOUT)
        except Exception as exc:  # a probe that raises is a bug in drdrill, not an outage
            logger.exception("probe raised instead of an outcome probe=%s", self.probe.name)
            outcome = Outcome.INFO if self.probe.role == "write" else Outcome.FAIL
            return OpResult(outcome, ErrorKind.ERROR, detail=f"drdrill bug: {exc!r}")
