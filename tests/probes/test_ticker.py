"""The ticker on a virtual clock: due times never drift, overruns become `late` records."""

from __future__ import annotations

import asyncio

import pytest

from drdrill.drills.schema import PostgresWriteProbe as Spec
from drdrill.probes.base import OpResult, Outcome, Probe, Route
from drdrill.probes.ticker import OpRecord, Ticker

MS = 1_000_000


class VirtualClock:
    """A clock that only moves when the ticker sleeps or an op takes time."""

    def __init__(self) -> None:
        self.t = 0

    def now(self) -> int:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += round(seconds * 1e9)
        await asyncio.sleep(0)


class ScriptedProbe(Probe):
    """Each op takes the duration the script gives (ms) on the virtual clock."""

    kind = "test"

    def __init__(self, clock: VirtualClock, durations_ms: dict[int, int], stop_after: int,
                 stop: asyncio.Event) -> None:
        spec = Spec(name="p", kind="postgres.write", target="a.postgres")
        super().__init__(spec, Route("a.postgres", None), "run")
        self.clock = clock
        self.durations_ms = durations_ms
        self.stop_after = stop_after
        self.stop = stop

    async def op(self, seq: int) -> OpResult:
        self.clock.t += self.durations_ms.get(seq, 1) * MS
        if seq >= self.stop_after:
            self.stop.set()
        return OpResult.ok()


async def _run(durations_ms: dict[int, int], stop_after: int, timeout_s: float = 10.0):
    clock = VirtualClock()
    stop = asyncio.Event()
    ops: list[OpRecord] = []
    late: list[tuple[int, int]] = []
    ticker = Ticker(
        probe=ScriptedProbe(clock, durations_ms, stop_after, stop),
        interval_ns=100 * MS,
        timeout_s=timeout_s,
        on_op=ops.append,
        on_late=lambda probe, first, last, t: late.append((first, last)),
        now=clock.now,
        sleep=clock.sleep,
    )
    await ticker.run(start_ns=0, stop=stop)
    return ops, late


async def test_due_times_do_not_drift() -> None:
    ops, late = await _run({}, stop_after=9)

    assert [op.seq for op in ops] == list(range(10))
    assert [op.due_ns for op in ops] == [k * 100 * MS for k in range(10)]
    assert [op.invoke_ns for op in ops] == [k * 100 * MS for k in range(10)]
    assert late == []


async def test_slightly_late_tick_runs_and_records_its_lateness() -> None:
    # Op 2 takes 130 ms: tick 3 is due at 300 ms but starts at 330 ms, 30 ms late.
    ops, late = await _run({2: 130}, stop_after=5)

    assert [op.seq for op in ops] == [0, 1, 2, 3, 4, 5]
    assert ops[3].invoke_ns - ops[3].due_ns == 30 * MS
    assert ops[4].invoke_ns == ops[4].due_ns == 400 * MS
    assert late == []


async def test_ticks_a_whole_interval_late_are_skipped_and_journaled() -> None:
    # Op 1 starts at 100 ms and takes 450 ms: it ends at 550 ms, inside tick 5's interval.
    # Ticks 2, 3 and 4 are skipped; tick 5 runs 50 ms late.
    ops, late = await _run({1: 450}, stop_after=6)

    assert [op.seq for op in ops] == [0, 1, 5, 6]
    assert late == [(2, 4)]
    assert ops[2].due_ns == 500 * MS
    assert ops[2].invoke_ns == 550 * MS


class SlowProbe(Probe):
    kind = "test"
    role = "write"
    timeout_outcome = Outcome.INFO

    def __init__(self) -> None:
        spec = Spec(name="slow", kind="postgres.write", target="a.postgres")
        super().__init__(spec, Route("a.postgres", None), "run")
        self.timeouts = 0

    async def op(self, seq: int) -> OpResult:
        await asyncio.sleep(10)
        return OpResult.ok()

    async def on_timeout(self) -> None:
        self.timeouts += 1


@pytest.mark.timeout(10)
async def test_a_write_that_times_out_is_info_and_the_probe_is_told() -> None:
    probe = SlowProbe()
    stop = asyncio.Event()
    ops: list[OpRecord] = []

    def collect(op: OpRecord) -> None:
        ops.append(op)
        stop.set()

    ticker = Ticker(probe, 10 * MS, 0.05, collect, lambda *a: None)
    await ticker.run(start_ns=ticker.now(), stop=stop)

    assert len(ops) == 1
    assert ops[0].result.outcome is Outcome.INFO
    assert ops[0].result.error == "timeout"
    assert probe.timeouts == 1


class NoopProbe(Probe):
    kind = "test"

    def __init__(self, name: str) -> None:
        spec = Spec(name=name, kind="postgres.write", target="a.postgres")
        super().__init__(spec, Route("a.postgres", None), "run")

    async def op(self, seq: int) -> OpResult:
        return OpResult.ok()


@pytest.mark.timeout(20)
async def test_ten_millisecond_ticks_account_for_every_sequence_number() -> None:
    # On the real clock: every tick of 0.5 s at 10 ms is either an op or inside a late
    # record, with no duplicate and no hole, whatever the machine's load.
    stop = asyncio.Event()
    ops: list[OpRecord] = []
    late: list[tuple[int, int]] = []
    ticker = Ticker(NoopProbe("fast"), 10 * MS, 1.0, ops.append,
                    lambda probe, first, last, t: late.append((first, last)))
    start = ticker.now()
    task = asyncio.create_task(ticker.run(start, stop))
    await asyncio.sleep(0.5)
    stop.set()
    await task

    seen = [op.seq for op in ops] + [s for a, b in late for s in range(a, b + 1)]
    assert sorted(seen) == list(range(max(seen) + 1))
    assert all(op.invoke_ns >= op.due_ns for op in ops)
    assert max(seen) >= 40
