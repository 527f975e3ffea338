"""A whole simulated drill with the DNS flip (scenario dns-ttl): what the probes measured
against what the control plane said and what the simulator's DNS server did."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from drdrill.reports.build import build_reports
from drdrill.sim.scenarios import ScenarioOptions
from drdrill.sim.simulate import simulate

pytestmark = [pytest.mark.timeout(240), pytest.mark.slow]

TTL_S = 2
INTERVAL_S = 0.1


def _records(run_dir: Path, kind: str) -> list[dict[str, Any]]:
    lines = (run_dir / "journal.jsonl").read_bytes().splitlines()
    return [r for r in map(orjson.loads, lines) if r["k"] == kind]


async def test_dns_ttl_clients_converge_between_insync_and_insync_plus_ttl(
    tmp_path: Path
) -> None:
    run_dir = await simulate(ScenarioOptions(name="dns-ttl", ttl_seconds=TTL_S), tmp_path)
    summary = build_reports(run_dir)

    assert summary["status"] == "completed"
    decomposition = summary["decomposition"]
    insync = decomposition["insync_seconds"]
    converged = decomposition["dns_converged_seconds"]
    (dns,) = decomposition["dns_probes"]
    assert dns == {"probe": "dns-app", "converged_seconds": converged,
                   "bound_seconds": INTERVAL_S, "flips": 1, "final_answer": "127.0.0.3"}

    # Clients keep the old answer at most one TTL after INSYNC, seen within one interval. The
    # scenario refreshes the resolver's copy at T0, so they keep it past INSYNC (the flip takes
    # well under the TTL of 2 s).
    assert insync <= converged <= insync + TTL_S + INTERVAL_S
    (http,) = [p for p in summary["probes"] if p["name"] == "http-app"]
    assert http["rto_seconds"] >= converged
    assert decomposition["first_stable_http_seconds"] == http["rto_seconds"]
    assert http["rto_bound_seconds"] == INTERVAL_S

    # The server side: its copy of the old answer expired no later than INSYNC + TTL, and the
    # DNS probe's last old answer was asked for before that copy expired.
    (truth,) = _records(run_dir, "dns_truth")
    t0 = next(r["t"] for r in _records(run_dir, "fault") if r["event"] == "inject")
    assert truth["old_expired_t"] <= t0 + round(insync * 1e9) + TTL_S * 1_000_000_000
    (last_old,) = [r for r in _records(run_dir, "op") if r["p"] == "dns-app"
                   and abs(r["c"] - t0 - converged * 1e9) < 1_000]
    assert last_old["a"] == "127.0.0.2"
    assert last_old["i"] <= truth["last_old_served_t"] < truth["old_expired_t"]
    assert (truth["old"], truth["new"], truth["ttl_seconds"]) == ("127.0.0.2", "127.0.0.3", 2)

    # The flip kept the record's previous state for a failback.
    (flip,) = [r for r in _records(run_dir, "step")
               if r["name"] == "flip-app" and r["event"] == "end"]
    assert flip["detail"]["previous"] == [{
        "name": "app.drill.test.", "type": "A", "set_identifier": None,
        "record_set": {"Name": "app.drill.test.", "Type": "A", "TTL": 2,
                       "ResourceRecords": [{"Value": "127.0.0.2"}]}}]
