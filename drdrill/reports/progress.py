"""Live progress of a running drill: phase, each probe's state and last latency, elapsed time
against the recovery budget. A live panel on a terminal (rich); plain key=value lines, one per
change, when the output is a file or a CI log, where a redrawn panel would be noise.

The runner calls the progress object with itself at every phase mark, after every step and
every 100 ms of the recovery (`DrillRun.on_progress`). On a terminal the panel also redraws on
its own a few times a second from rich's refresh thread, which only reads the run's counters,
so the baseline shows live too.

Known shortcoming: log records written to stderr by a handler set up before the panel (the
CLI's logging.basicConfig) are not routed through rich, so on a terminal they interleave with
the panel's redraws; a `rich.logging.RichHandler` on the same console avoids that.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from drdrill.clock import now_ns

if TYPE_CHECKING:
    from drdrill.drills.runner import DrillRun

STATE_STYLES = {"ok": "green", "fail": "bold red", "info": "yellow"}
STATUS_EVERY_S = 5.0


class DrillProgress:
    """The `on_progress` callable of a DrillRun; close it (or use `with`) when the drill ends."""

    def __init__(self, console: Console, clock: Callable[[], int] = now_ns) -> None:
        self.console = console
        self.clock = clock
        self._live: Live | None = None
        self._phase: str | None = None
        self._states: dict[str, str | None] = {}
        self._last_status_ns = 0

    def __call__(self, run: DrillRun) -> None:
        if self.console.is_terminal:
            self._update_live(run)
        else:
            self._print_changes(run)

    def close(self) -> None:
        """Stop the live panel (leaving its last state on screen); idempotent."""
        if self._live is not None:
            self._live.stop()
            self._live = None

    def __enter__(self) -> DrillProgress:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    # --- a terminal --------------------------------------------------------------------------

    def _update_live(self, run: DrillRun) -> None:
        if self._live is None:
            self._live = Live(console=self.console, refresh_per_second=4,
                              get_renderable=lambda: self.render(run))
            self._live.start()
        self._live.refresh()

    def render(self, run: DrillRun) -> RenderableType:
        """The panel: a status line, the budget bar, one row per probe."""
        elapsed = self._elapsed_s(run, self.clock())
        budget = run.loaded.drill.recovery_budget_seconds
        status = Text.assemble(
            ("drdrill ", "bold"), f"{run.loaded.drill.name}  phase ", (run.phase, "bold cyan"),
            f"  {self._clock_text(run, elapsed)}")
        table = Table(box=None, pad_edge=False)
        for column in ("probe", "critical", "state", "last latency", "ops", "ok"):
            table.add_column(column)
        for live in run.live.values():
            state = live.last_outcome or "-"
            table.add_row(live.name, "yes" if live.critical else "no",
                          Text(state, STATE_STYLES.get(state, "")), _latency(live.last_latency_ms),
                          str(live.ops), str(live.ok))

        parts: list[RenderableType] = [status]
        if run.t0_ns is not None:
            budget_row = Table.grid()
            budget_row.add_row(
                ProgressBar(total=budget, completed=min(elapsed, budget), width=40),
                f"  {elapsed:.1f} s of {budget:g} s budget{_objective_text(run)}")
            parts.append(budget_row)
        parts.append(table)
        return Group(*parts)

    # --- a file or a CI log ------------------------------------------------------------------

    def _print_changes(self, run: DrillRun) -> None:
        """One line per phase change and per probe state change, a status line every 5 s."""
        now = self.clock()
        elapsed = self._elapsed_s(run, now)
        if run.phase != self._phase:
            self._phase = run.phase
            self._line(f"phase={run.phase} {self._clock_text(run, elapsed)}")

        for live in run.live.values():
            if self._states.get(live.name) != live.last_outcome:
                self._states[live.name] = live.last_outcome
                self._line(f"probe={live.name} state={live.last_outcome} "
                           f"last_latency={_latency(live.last_latency_ms)} "
                           f"{self._clock_text(run, elapsed)}")

        if run.t0_ns is not None and now - self._last_status_ns >= STATUS_EVERY_S * 1e9:
            self._last_status_ns = now
            budget = run.loaded.drill.recovery_budget_seconds
            self._line(f"status phase={run.phase} elapsed={elapsed:.1f}s budget={budget:g}s"
                       f"{_objective_text(run, plain=True)}")

    def _line(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False, soft_wrap=True)

    # --- shared ------------------------------------------------------------------------------

    @staticmethod
    def _elapsed_s(run: DrillRun, now: int) -> float:
        """Seconds since T0, or since the run started when there is no T0 yet."""
        origin = run.t0_ns if run.t0_ns is not None else run.clock.mono_ns
        return (now - origin) / 1e9

    @staticmethod
    def _clock_text(run: DrillRun, elapsed: float) -> str:
        return f"t=T0{elapsed:+.1f}s" if run.t0_ns is not None else f"t=start+{elapsed:.1f}s"


def make_progress(console: Console | None = None,
                  clock: Callable[[], int] = now_ns) -> DrillProgress:
    """Progress for `DrillRun.on_progress`, on stdout unless a console is given."""
    return DrillProgress(console or Console(), clock)


def _latency(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms"


def _objective_text(run: DrillRun, plain: bool = False) -> str:
    objective = run.loaded.drill.objectives.rto_seconds
    if objective is None:
        return ""
    return f" rto_objective={objective:g}s" if plain else f" (RTO objective {objective:g} s)"
