"""`drdrill compare RUN_DIR...`: RTO, RPO and lost writes across runs, for trend gates in CI.

Runs are ordered by their UTC start as the journal's `run` record gives it (never by directory
name or file time, which copies and checkouts change). A regression is the newest run's RTO or
RPO above the previous run's by more than the given percentage; from a previous value of 0
any rise is one, and a value that became unknown is one too (unknown is never as good as a
number).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from rich.table import Table

from drdrill.errors import DrdrillError
from drdrill.journal.writer import JOURNAL_NAME
from drdrill.reports.formatting import seconds_text

logger = logging.getLogger(__name__)

SUMMARY_NAME = "summary.json"


class NotARunDir(DrdrillError):
    """A directory given to compare holds no journal of a run."""


@dataclass(frozen=True)
class RunRow:
    """One run's figures as compare shows them."""

    run_dir: Path
    run_id: str
    drill: str
    started_utc: datetime
    verdict: str
    rto_seconds: float | None
    rto_bound_seconds: float | None
    rpo_seconds: float | None
    rpo_bound_seconds: float | None
    lost_writes: int | None  # over every store; None when one store's is unknown


def load_runs(run_dirs: list[Path]) -> list[RunRow]:
    """The runs in `run_dirs`, oldest first by UTC start; raises NotARunDir."""
    rows = [load_run(run_dir) for run_dir in run_dirs]
    return sorted(rows, key=lambda row: row.started_utc)


def load_run(run_dir: Path) -> RunRow:
    """One run's row, from its summary.json (rebuilt from the journal when absent)."""
    header = _run_record(run_dir)
    summary = _summary(run_dir)
    stores = summary.get("stores", [])
    lost = [store.get("lost_writes") for store in stores]
    rto, rpo = summary.get("rto") or {}, summary.get("rpo") or {}
    return RunRow(
        run_dir=run_dir, run_id=str(summary.get("run_id")), drill=str(summary.get("drill")),
        started_utc=datetime.fromisoformat(header["clock"]["utc"]),
        verdict=str(summary.get("verdict")),
        rto_seconds=rto.get("seconds"), rto_bound_seconds=rto.get("bound_seconds"),
        rpo_seconds=rpo.get("seconds"), rpo_bound_seconds=rpo.get("bound_seconds"),
        lost_writes=None if None in lost else sum(lost),
    )


def regressions(rows: list[RunRow], percent: float) -> list[str]:
    """How the newest run is worse than the previous one, one line per objective; [] if not."""
    if len(rows) < 2:
        return []

    previous, newest = rows[-2], rows[-1]
    found = []
    for name, before, after in (("RTO", previous.rto_seconds, newest.rto_seconds),
                                ("RPO", previous.rpo_seconds, newest.rpo_seconds)):
        if before is None:
            continue
        if after is None:
            found.append(f"{name} is unknown in {newest.run_id} (was {before:.3f} s)")
        elif after > before * (1 + percent / 100):
            found.append(f"{name} rose from {before:.3f} s to {after:.3f} s "
                         f"({_change(before, after)}) in {newest.run_id}, "
                         f"more than the {percent:g}% allowed")
    return found


def trend_table(rows: list[RunRow]) -> Table:
    """The runs as a rich Table, oldest first, with each change against the row before."""
    table = Table(title="drdrill runs, oldest first")
    for column in ("started (UTC)", "run", "drill", "verdict", "RTO", "change", "RPO", "change",
                   "lost writes"):
        table.add_column(column, no_wrap=True)

    for index, row in enumerate(rows):
        before = rows[index - 1] if index else None
        table.add_row(
            row.started_utc.strftime("%Y-%m-%d %H:%M:%S"), row.run_id, row.drill, row.verdict,
            seconds_text(row.rto_seconds, row.rto_bound_seconds),
            _change(before.rto_seconds, row.rto_seconds) if before else "",
            seconds_text(row.rpo_seconds, row.rpo_bound_seconds),
            _change(before.rpo_seconds, row.rpo_seconds) if before else "",
            "unknown" if row.lost_writes is None else str(row.lost_writes),
        )
    return table


def _change(before: float | None, after: float | None) -> str:
    if before is None or after is None:
        return "n/a"
    if before == 0:
        return "±0%" if after == 0 else "up from 0"
    return f"{(after - before) / before * 100:+.1f}%"


def _run_record(run_dir: Path) -> dict[str, Any]:
    """The journal's first line, the `run` record, read without reading the rest."""
    path = run_dir / JOURNAL_NAME
    if not path.is_file():
        raise NotARunDir(f"{run_dir}: no {JOURNAL_NAME} in this directory")

    with path.open("rb") as file:
        first = file.readline()
    try:
        record = orjson.loads(first)
    except orjson.JSONDecodeError:
        record = None
    if not isinstance(record, dict) or record.get("k") != "run":
        raise NotARunDir(f"{path}: the first line is not the run's `run` record")
    return record


def _summary(run_dir: Path) -> dict[str, Any]:
    path = run_dir / SUMMARY_NAME
    if path.is_file():
        summary: dict[str, Any] = json.loads(path.read_text())
        return summary

    from drdrill.journal.reader import read_journal
    from drdrill.measure.summary import summarize

    logger.info("no summary.json, measuring the journal run_dir=%s", run_dir)
    rebuilt: dict[str, Any] = summarize(read_journal(run_dir / JOURNAL_NAME))
    return rebuilt
