"""Whole simulated NATS drills: the acknowledged heartbeats missing from the promoted mirror are
exactly those the origin's own store holds and the mirror lacks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from drdrill.journal.reader import read_journal
from drdrill.probes.base import seqs_to_ranges
from drdrill.sim.nats import WRITE_PROBE, NatsComponent
from drdrill.sim.scenarios import ScenarioOptions
from drdrill.sim.simulate import simulate

pytestmark = [pytest.mark.timeout(120), pytest.mark.slow]


def _lost_and_truth(run_dir: Path) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The lost writes by the glossary's definition (acked seqs absent from the final read),
    the truth record, and the final read record of the NATS store."""
    journal = read_journal(run_dir / "journal.jsonl")
    ops = journal.ops
    acked = ops[(ops["p"] == WRITE_PROBE) & (ops["o"] == "ok")]["s"].to_numpy()
    (final,) = [e for e in journal.events if e["k"] == "final_read" and e["store"] == WRITE_PROBE]
    (truth,) = [e for e in journal.events if e["k"] == "truth" and e["store"] == WRITE_PROBE]

    read = np.concatenate([np.arange(a, b + 1) for a, b in final["ranges"]] or [np.array([])])
    lost = np.setdiff1d(acked, read).astype(np.int64)
    ranges, _ = seqs_to_ranges(lost)
    return {"lost_writes": int(lost.size), "lost_ranges": ranges}, truth, final


def _step_end(run_dir: Path) -> dict[str, Any]:
    journal = read_journal(run_dir / "journal.jsonl")
    (end,) = [e for e in journal.events if e["k"] == "step" and e["event"] == "end"]
    return end


async def test_a_cut_leafnode_loses_exactly_the_heartbeats_of_the_cut(tmp_path: Path) -> None:
    options = ScenarioOptions(name="nats-link-cut", pause_seconds=2)
    run_dir = await simulate(options, tmp_path, components=[NatsComponent()])

    measured, truth, final = _lost_and_truth(run_dir)
    # The same sequence numbers, not just the count.
    assert measured["lost_ranges"] == truth["lost_ranges"]
    assert measured["lost_writes"] == truth["lost_writes"]
    # 2 s of heartbeats at 100 ms, give or take the tick in flight at either end of the cut.
    assert 19 <= truth["lost_writes"] <= 21
    assert len(truth["lost_ranges"]) == 1
    assert final["ok"] is True
    assert final["target"] == "secondary.nats"
    assert final["dups"] == []

    step = _step_end(run_dir)
    assert step["ok"] is True
    assert step["promotes"] == [
        {"store": WRITE_PROBE, "from": "primary.nats", "to": "secondary.nats"}
    ]


async def test_a_clean_kill_reports_what_its_truth_says(tmp_path: Path) -> None:
    run_dir = await simulate(ScenarioOptions(), tmp_path, components=[NatsComponent()])

    measured, truth, final = _lost_and_truth(run_dir)
    assert measured["lost_ranges"] == truth["lost_ranges"]
    assert measured["lost_writes"] == truth["lost_writes"]
    assert final["ok"] is True
    assert _step_end(run_dir)["ok"] is True
