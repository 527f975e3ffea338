"""Whole simulated ClickHouse drills: what drdrill measures equals what the servers say."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from drdrill.journal.reader import read_journal
from drdrill.measure.summary import summarize
from drdrill.reports.build import build_reports
from drdrill.sim.clickhouse import REPLICA_PROBE, WRITE_PROBE, ClickHouseComponent
from drdrill.sim.scenarios import ScenarioOptions
from drdrill.sim.simulate import simulate

pytestmark = [pytest.mark.timeout(180), pytest.mark.slow]


def _summary(run_dir: Path) -> dict[str, Any]:
    return summarize(read_journal(run_dir / "journal.jsonl"))


def _store(summary: dict[str, Any]) -> dict[str, Any]:
    (store,) = [s for s in summary["stores"] if s["name"] == WRITE_PROBE]
    return store


async def test_a_replica_behind_loses_exactly_what_the_primary_alone_held(
    tmp_path: Path,
) -> None:
    options = ScenarioOptions(name="clickhouse-replica-behind", lag_seconds=2)
    run_dir = await simulate(options, tmp_path, components=[ClickHouseComponent()])
    journal = read_journal(run_dir / "journal.jsonl")
    summary = _summary(run_dir)

    store = _store(summary)
    truth = summary["truth"][WRITE_PROBE]
    # The same sequence numbers, not just the count.
    assert store["lost_ranges"] == truth["lost_ranges"]
    assert store["lost_writes"] == truth["lost_writes"]
    assert store["replication"] == "simulated"
    assert store["final_read"] == "ok"

    # The loss is the writes of the last lag_seconds before the kill: one range ending at the
    # last write the primary acknowledged.
    ops = journal.ops
    on_primary = ops[(ops["p"] == WRITE_PROBE) & (ops["o"] == "ok")
                     & (ops["r"] == "primary.clickhouse")]
    ((first, last),) = truth["lost_ranges"]
    assert last == int(on_primary["s"].max())
    ack = dict(zip(on_primary["s"].tolist(), on_primary["c"].tolist(), strict=True))
    # lag_seconds, plus up to one polling period and one tick (and slack for a busy machine).
    assert 1.8 <= (ack[last] - ack[first]) / 1e9 <= 2.5

    # The replica probe saw the lag coming: the prediction beside the measurement.
    assert summary["replication_lag"][WRITE_PROBE]["age_seconds"]["max"] >= 1.8
    assert REPLICA_PROBE in [p["name"] for p in summary["probes"]]


async def test_the_journal_says_replication_is_simulated_and_which_backend_ran(
    tmp_path: Path,
) -> None:
    run_dir = await simulate(ScenarioOptions(), tmp_path, components=[ClickHouseComponent()])
    journal = read_journal(run_dir / "journal.jsonl")
    header = journal.header
    assert header is not None
    summary = _summary(run_dir)

    (store,) = header["stores"]
    facts = header["sim"]["components"]["clickhouse"]
    assert store == {"name": WRITE_PROBE, "kind": "clickhouse", "probe": WRITE_PROBE,
                     "replication": "simulated"}
    assert facts["backend"] == "chdb"
    assert facts["lag_seconds"] == 0.0
    assert facts["server_version"].count(".") == 3
    # summary.json and report.md say it too, not only the journal.
    assert summary["simulator"] == {"scenario": "kill-primary", "backends": {"clickhouse": "chdb"}}
    assert _store(summary)["replication"] == "simulated"
    build_reports(run_dir)
    assert "replication simulated" in (run_dir / "report.md").read_text()
    # kill-primary: the replica trails by one polling period at most, and the measurement
    # matches the truth whatever that costs.
    assert _store(summary)["lost_ranges"] == summary["truth"][WRITE_PROBE]["lost_ranges"]
    assert _store(summary)["lost_writes"] == summary["truth"][WRITE_PROBE]["lost_writes"]
