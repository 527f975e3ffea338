"""Journal write throughput from asyncio, with the flush policy in force (100 ms).

Prints figures; asserts nothing. Run with `make bench`.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from drdrill.journal.writer import JournalWriter
from drdrill.probes.base import OpResult
from drdrill.probes.ticker import OpRecord

OPS = 500_000


async def write_ops(path: Path) -> float:
    journal = JournalWriter(path)
    journal.start_flusher()
    result = OpResult.ok()
    start = time.perf_counter()
    for seq in range(OPS):
        t = time.monotonic_ns()
        journal.write(OpRecord("pg-write", seq, t, t, t + 1_000_000, result,
                               "primary.postgres").as_journal())
        if seq % 1000 == 0:
            await asyncio.sleep(0)  # let the flusher run, as it would between ticks
    await journal.aclose()
    return time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "journal.jsonl"
        seconds = asyncio.run(write_ops(path))
        size = path.stat().st_size
    print(f"journal write: {OPS:,} ops in {seconds:.2f} s = {OPS / seconds:,.0f} ops/s"
          f" ({size / OPS:.0f} bytes/op, flushed every 100 ms)")


if __name__ == "__main__":
    main()
