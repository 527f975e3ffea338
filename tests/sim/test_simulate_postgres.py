"""Whole simulated PostgreSQL drills: what drdrill measures equals what the servers say."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from drdrill.cli import app
from drdrill.journal.reader import read_journal
from drdrill.reports.build import build_reports
from drdrill.sim.postgres import PostgresComponent
from drdrill.sim.scenarios import ScenarioOptions
from drdrill.sim.simulate import simulate

pytestmark = [pytest.mark.timeout(180), pytest.mark.slow]


def _store(summary: dict, name: str) -> dict:
    (store,) = [s for s in summary["stores"] if s["name"] == name]
    return store


def _ack_times(run_dir: Path, probe: str) -> dict[int, int]:
    ops = read_journal(run_dir / "journal.jsonl").ops
    mine = ops[(ops["p"] == probe) & (ops["o"] == "ok")]
    return dict(zip(mine["s"].tolist(), mine["c"].tolist(), strict=True))


async def test_replication_paused_loses_exactly_the_writes_of_the_pause(tmp_path: Path) -> None:
    options = ScenarioOptions(name="replication-paused", pause_seconds=2.0)
    run_dir = await simulate(options, tmp_path, components=[PostgresComponent()])
    summary = build_reports(run_dir)

    store = _store(summary, "pg-write")
    truth = summary["truth"]["pg-write"]
    # The same sequence numbers, not just the count.
    assert store["lost_ranges"] == truth["lost_ranges"]
    assert store["lost_writes"] == truth["lost_writes"]
    # 2 s of writes at 100 ms, give or take the tick in flight at either end of the pause.
    assert 19 <= truth["lost_writes"] <= 21
    assert len(truth["lost_ranges"]) == 1

    # RPO = the span of the truly lost writes, from the harness's own ack times.
    first, last = truth["lost_ranges"][0]
    acks = _ack_times(run_dir, "pg-write")
    survivor = max(s for s in acks if s < first)
    span = (acks[last] - acks[survivor]) / 1e9
    assert abs(store["rpo_seconds"] - span) <= store["rpo_bound_seconds"]
    assert summary["rpo"]["seconds"] == store["rpo_seconds"]
    assert summary["objectives"]["rpo"]["verdict"] == "missed"  # objective 1 s, lost ~2 s
    assert summary["verdict"] == "missed"


async def test_kill_primary_reports_what_its_truth_says(tmp_path: Path) -> None:
    run_dir = await simulate(ScenarioOptions(), tmp_path, components=[PostgresComponent()])
    summary = build_reports(run_dir)

    store = _store(summary, "pg-write")
    truth = summary["truth"]["pg-write"]
    assert store["lost_ranges"] == truth["lost_ranges"]
    assert store["lost_writes"] == truth["lost_writes"]
    assert store["final_read"] == "ok"
    assert summary["status"] == "completed"
    # The write probe was down from the kill until the promoted standby took its writes.
    (probe,) = [p for p in summary["probes"] if p["name"] == "pg-write"]
    assert probe["rto_seconds"] is not None
    assert 0 < probe["rto_seconds"] < 30
    assert probe["rto_bound_seconds"] >= 0.1

    # `drdrill report` rebuilds the same summary.json from the journal alone.
    written = (run_dir / "summary.json").read_bytes()
    (run_dir / "summary.json").unlink()
    result = CliRunner().invoke(app, ["report", str(run_dir)])
    assert result.exit_code in (0, 1)
    assert (run_dir / "summary.json").read_bytes() == written
    assert orjson.loads(written)["run_id"] == summary["run_id"]
