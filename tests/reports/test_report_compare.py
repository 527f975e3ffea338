"""`drdrill compare`: three runs built for it, shown oldest first by their UTC start (not by
directory name), and `--fail-if-worse` exiting 1 when the newest run regressed."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_journals import DrillShape, built_run
from typer.testing import CliRunner

from drdrill.cli import app

OLDEST, MIDDLE = "20261201T090000Z-aaaaaa", "20261202T090000Z-bbbbbb"
NEWEST = "20261203T090000Z-cccccc"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Directory names sort opposite to the runs' start times."""
    base = tmp_path_factory.mktemp("compare")
    shapes = {
        "c-oldest": DrillShape(run_id=OLDEST, run_utc="2026-12-01T09:00:00+00:00",
                               outage_s=1.0),
        "b-middle": DrillShape(run_id=MIDDLE, run_utc="2026-12-02T09:00:00+00:00",
                               outage_s=2.0, lost=[(26, 28)]),
        "a-newest": DrillShape(run_id=NEWEST, run_utc="2026-12-03T09:00:00+00:00",
                               outage_s=3.0, lost=[(26, 28)]),
    }
    for name, shape in shapes.items():
        built_run(base / name, shape)
    return {name: base / name for name in shapes}


def _rows(output: str) -> list[list[str]]:
    """The table's rows as cells (rich draws columns with │)."""
    return [[cell.strip() for cell in line.strip("│ ").split("│")]
            for line in output.splitlines() if "│" in line and "-" in line.split("│")[1]]


def test_the_trend_is_shown_oldest_first(runs: dict[str, Path]) -> None:
    result = CliRunner().invoke(app, ["compare", *map(str, runs.values())])

    assert result.exit_code == 0
    assert _rows(result.output) == [
        ["2026-12-01 09:00:00", OLDEST, "local-sim", "met", "1.003 s ± 0.100 s", "",
         "0.000 s ± 0.100 s", "", "0"],
        ["2026-12-02 09:00:00", MIDDLE, "local-sim", "met", "2.003 s ± 0.100 s", "+99.7%",
         "0.300 s ± 0.100 s", "up from 0", "3"],
        ["2026-12-03 09:00:00", NEWEST, "local-sim", "met", "3.003 s ± 0.100 s", "+49.9%",
         "0.300 s ± 0.100 s", "+0.0%", "3"],
    ]


def test_fail_if_worse_exits_1_on_a_regressed_newest_run(runs: dict[str, Path]) -> None:
    result = CliRunner().invoke(app, ["compare", *map(str, runs.values()),
                                      "--fail-if-worse", "20"])

    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (
        f"regressed: RTO rose from 2.003 s to 3.003 s (+49.9%) in {NEWEST}, more than the 20% "
        "allowed")


def test_fail_if_worse_passes_within_the_allowance(runs: dict[str, Path]) -> None:
    result = CliRunner().invoke(app, ["compare", *map(str, runs.values()),
                                      "--fail-if-worse", "50"])

    assert result.exit_code == 0
    assert result.output.splitlines()[-1] == (
        "no regression of more than 50% against the previous run")


def test_any_rise_from_zero_is_a_regression(runs: dict[str, Path]) -> None:
    result = CliRunner().invoke(app, ["compare", str(runs["b-middle"]), str(runs["c-oldest"]),
                                      "--fail-if-worse", "1000"])

    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (
        f"regressed: RPO rose from 0.000 s to 0.300 s (up from 0) in {MIDDLE}, more than the "
        "1000% allowed")


def test_a_directory_without_a_journal_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["compare", str(tmp_path)])

    assert result.exit_code == 2
    assert result.output == f"{tmp_path}: no journal.jsonl in this directory\n"
