"""Tick lateness of 50 concurrent probes at a 10 ms interval against a no-op target.

Lateness is invoke - due of each op. Prints p50, p99 and max; asserts nothing.
"""

from __future__ import annotations

import asyncio

import numpy as np

from drdrill.drills.schema import PostgresWriteProbe as Spec
from drdrill.probes.base import OpResult, Probe, Route
from drdrill.probes.ticker import OpRecord, Ticker, staggered_start

PROBES = 50
INTERVAL_NS = 10_000_000
SECONDS = 10.0


class NoopProbe(Probe):
    kind = "noop"

    def __init__(self, name: str) -> None:
        spec = Spec(name=name, kind="postgres.write", target="a.postgres")
        super().__init__(spec, Route("a.postgres", None), "bench")

    async def op(self, seq: int) -> OpResult:
        return OpResult.ok()


async def run() -> tuple[np.ndarray, int]:
    ops: list[OpRecord] = []
    late: list[int] = []
    stop = asyncio.Event()
    tickers = [
        Ticker(NoopProbe(f"p{i}"), INTERVAL_NS, 1.0, ops.append,
               lambda probe, first, last, t: late.append(last - first + 1))
        for i in range(PROBES)
    ]
    start = tickers[0].now() + 10_000_000
    # As the runner does: each probe's ticks are phase-shifted by its share of the interval.
    tasks = [
        asyncio.create_task(t.run(staggered_start(start, i, PROBES, INTERVAL_NS), stop))
        for i, t in enumerate(tickers)
    ]
    await asyncio.sleep(SECONDS)
    stop.set()
    await asyncio.gather(*tasks)
    lateness = np.array([op.invoke_ns - op.due_ns for op in ops], dtype=np.int64) / 1e6
    return lateness, sum(late)


def main() -> None:
    lateness, skipped = asyncio.run(run())
    p50, p99 = np.percentile(lateness, [50, 99])
    print(f"tick lateness, {PROBES} probes x {INTERVAL_NS // 1_000_000} ms for {SECONDS:g} s:"
          f" {lateness.size:,} ops, p50 {p50:.2f} ms, p99 {p99:.2f} ms,"
          f" max {lateness.max():.2f} ms, ticks skipped {skipped}")


if __name__ == "__main__":
    main()
