"""Live progress of a drill, driven by a real DrillRun (never started: no server is needed) and
an injected clock: plain key=value lines when the output is not a terminal, a rich panel when
it is."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from drdrill.drills.loader import load_drill
from drdrill.drills.runner import DrillRun
from drdrill.probes.base import ErrorKind, OpResult
from drdrill.probes.ticker import OpRecord
from drdrill.reports.progress import make_progress

EXAMPLE = Path(__file__).parents[2] / "examples" / "local.yaml"
MS = 1_000_000


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def run(tmp_path: Path) -> Iterator[DrillRun]:
    drill = DrillRun(load_drill(EXAMPLE), tmp_path / "run")
    yield drill
    drill.journal.close()


def _op(run: DrillRun, seq: int, invoke: int, took: int, result: OpResult) -> None:
    record = OpRecord("pg-write", seq, invoke, invoke, invoke + took, result, "primary.postgres")
    run.live["pg-write"].record(record, run.t0_ns)


def test_plain_lines_say_each_change_once(run: DrillRun) -> None:
    clock = Clock(run.clock.mono_ns + 1500 * MS)
    out = io.StringIO()
    progress = make_progress(Console(file=out), clock)

    run.phase = "preflight"
    progress(run)
    run.phase = "baseline"
    clock.now += 500 * MS
    _op(run, 0, clock.now - 10 * MS, 2 * MS, OpResult.ok())
    progress(run)
    progress(run)
    run.t0_ns = clock.now + 1000 * MS
    run.phase = "failover"
    clock.now = run.t0_ns + 500 * MS
    _op(run, 1, run.t0_ns + 1, 1 * MS, OpResult.fail(ErrorKind.REFUSED))
    progress(run)
    clock.now += 1000 * MS
    progress(run)
    clock.now += 4100 * MS
    progress(run)

    assert out.getvalue().splitlines() == [
        "phase=preflight t=start+1.5s",
        "phase=baseline t=start+2.0s",
        "probe=pg-write state=ok last_latency=2.0 ms t=start+2.0s",
        "phase=failover t=T0+0.5s",
        "probe=pg-write state=fail last_latency=1.0 ms t=T0+0.5s",
        "status phase=failover elapsed=0.5s budget=120s rto_objective=30s",
        "status phase=failover elapsed=5.6s budget=120s rto_objective=30s",
    ]


def test_the_panel_shows_phase_probes_and_budget(run: DrillRun) -> None:
    clock = Clock(0)
    run.t0_ns = 10_000 * MS
    run.phase = "recovery"
    clock.now = run.t0_ns + 12_300 * MS
    _op(run, 0, run.t0_ns + 12_000 * MS, 3 * MS, OpResult.info(ErrorKind.TIMEOUT))
    recorder = Console(record=True, width=100, file=io.StringIO())

    recorder.print(make_progress(Console(file=io.StringIO()), clock).render(run))

    assert [line.rstrip() for line in recorder.export_text().splitlines()] == [
        "drdrill local-postgres  phase recovery  t=T0+12.3s",
        # 12.3 s of 120 s is 4 of the bar's 40 cells.
        "━━━━                                      12.3 s of 120 s budget (RTO objective 30 s)",
        "probe       critical  state  last latency  ops  ok",
        "pg-write    yes       info   3.0 ms        1    0",
        "pg-replica  no        -      -             0    0",
    ]


def test_on_a_terminal_the_panel_is_drawn_live_and_left_on_screen(run: DrillRun) -> None:
    screen = io.StringIO()
    run.phase = "baseline"

    with make_progress(Console(file=screen, force_terminal=True, width=100),
                       Clock(run.clock.mono_ns)) as progress:
        progress(run)

    assert "\x1b[?25l" in screen.getvalue()  # the live display hid the cursor while drawing
    assert screen.getvalue().endswith("\x1b[?25h")  # and gave it back when it stopped
    assert "phase \x1b[1;36mbaseline\x1b[0m" in screen.getvalue()
