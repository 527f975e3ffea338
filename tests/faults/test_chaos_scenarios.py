"""The simulator's proxy scenarios, measured against what the proxy and the servers say:
`partition` (RTO = the cut, within its bound) and `split-brain` (the old primary's writes
after the promotion, counted from its own table)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from drdrill.reports.build import build_reports
from drdrill.sim.postgres import PostgresComponent
from drdrill.sim.scenarios import ScenarioOptions
from drdrill.sim.simulate import simulate

pytestmark = [pytest.mark.timeout(180), pytest.mark.slow]


def _in_flight_across(run_dir: Path, probe: str, target: str, instant: int) -> int:
    """Acknowledged ops of `probe` to `target` invoked before `instant` and completed after."""
    return sum(1 for op in _records(run_dir, "op")
               if op["p"] == probe and op["r"] == target and op["o"] == "ok"
               and op["i"] < instant < op["c"])


def _records(run_dir: Path, kind: str) -> list[dict[str, Any]]:
    lines = (run_dir / "journal.jsonl").read_bytes().splitlines()
    return [r for r in map(orjson.loads, lines) if r["k"] == kind]


async def test_partition_rto_is_the_cut_within_its_bound(tmp_path: Path) -> None:
    options = ScenarioOptions(name="partition", seconds=4.0)
    run_dir = await simulate(options, tmp_path, components=[PostgresComponent()])
    summary = build_reports(run_dir)

    (inject,) = [r for r in _records(run_dir, "fault") if r["event"] == "inject"]
    (lift,) = [r for r in _records(run_dir, "fault") if r["event"] == "lift"]
    assert (inject["kind"], inject["target"].split(" of ")[0]) == (
        "proxy.partition", "link pg-primary-client"
    )
    cut_s = (lift["t"] - inject["t"]) / 1e9
    assert 4.0 <= cut_s < 4.1  # lifted by its own timer, 4 s after the inject

    # Every probe is a client of the primary; each one's RTO is the cut, within its bound.
    probes = {p["name"]: p for p in summary["probes"]}
    assert sorted(probes) == ["pg-read-primary", "pg-write"]
    for probe in probes.values():
        assert abs(probe["rto_seconds"] - 4.0) <= probe["rto_bound_seconds"], probe
        assert abs(probe["rto_seconds"] - cut_s) <= probe["rto_bound_seconds"], probe
    assert _records(run_dir, "step") == []  # no failover
    (store,) = summary["stores"]
    assert (store["lost_writes"], store["final_read"]) == (0, "ok")
    assert summary["status"] == "completed"


async def test_split_brain_writes_equal_the_old_primarys_own_count(tmp_path: Path) -> None:
    options = ScenarioOptions(name="split-brain")
    run_dir = await simulate(options, tmp_path, components=[PostgresComponent()])
    summary = build_reports(run_dir)

    truth = {r["store"]: r for r in _records(run_dir, "truth")}
    stores = {s["name"]: s for s in summary["stores"]}
    assert set(stores) == set(truth) == {"pg-write", "pg-write-pinned"}
    (promote,) = [r for r in _records(run_dir, "step") if r["event"] == "end"]
    for name, store in stores.items():
        # Measured: acknowledged by the old primary after the promote step ended. Truth: the
        # old primary's rows whose transaction began after it. They differ only by writes in
        # flight across that instant (invoked before, acknowledged after), which the journal
        # counts exactly: the measurement lies between the truth and the truth plus those.
        straddling = _in_flight_across(run_dir, name, "primary.postgres", promote["t"])
        truly = truth[name]["split_brain_writes"]
        assert truly <= store["split_brain_writes"] <= truly + straddling, name
        assert store["lost_writes"] == truth[name]["lost_writes"], name
        assert store["lost_ranges"] == truth[name]["lost_ranges"], name

    # The pinned writer kept writing to the old primary from the promotion to the end.
    pinned = truth["pg-write-pinned"]
    # The drill ends no sooner than the 2 s stable window after T0; the promotion takes
    # well under 0.5 s of it: at least 15 writes at 100 ms.
    assert pinned["split_brain_writes"] >= 15
    assert len(pinned["split_brain_ranges"]) == 1
    # The switched writer's writes between the cut and the switch stayed on the old primary.
    assert truth["pg-write"]["lost_writes"] >= 1
    assert promote["promotes"] == [
        {"store": "pg-write", "from": "primary.postgres", "to": "secondary.postgres"},
        {"store": "pg-write-pinned", "from": "primary.postgres", "to": "secondary.postgres"},
    ]
