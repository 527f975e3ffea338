"""`--metrics-file`: the results in Prometheus' text exposition format, written atomically;
a value the drill could not measure is left out, never written as a number."""

from __future__ import annotations

import re
import stat
from pathlib import Path

from report_journals import DrillShape, built_run

from drdrill.reports.metrics import render_metrics, write_metrics

LABELS = 'drill="local-sim",run_id="20261203T120000Z-ab12cd"'
# A sample line of the exposition format: name{label="value",...} number
SAMPLE = re.compile(r'^[a-z_]+\{([a-z_]+="(?:[^"\\]|\\.)*",?)+\} -?[0-9.e+]+$')


def test_a_met_run_in_exposition_format(tmp_path: Path) -> None:
    summary = built_run(tmp_path / "run", DrillShape(lost=[(26, 28)]))

    text = render_metrics(summary, "2026-12-03T12:00:00+00:00")
    lines = text.splitlines()

    assert all(SAMPLE.match(line) for line in lines if not line.startswith("#"))
    assert len([line for line in lines if line.startswith("# TYPE")]) == 16
    for expected in [
        f"drdrill_run_timestamp_seconds{{{LABELS}}} 1796299200",
        f'drdrill_verdict{{{LABELS},verdict="met"}} 1',
        f'drdrill_verdict{{{LABELS},verdict="missed"}} 0',
        f'drdrill_objective_seconds{{{LABELS},objective="rto"}} 30',
        f'drdrill_objective_verdict{{{LABELS},objective="rpo",verdict="met"}} 1',
        f"drdrill_rto_seconds{{{LABELS}}} 2.003",
        f"drdrill_rto_bound_seconds{{{LABELS}}} 0.1",
        f"drdrill_rpo_seconds{{{LABELS}}} 0.3",
        f'drdrill_probe_rto_seconds{{{LABELS},probe="pg-write"}} 2.003',
        f'drdrill_probe_ops{{{LABELS},probe="pg-write",outcome="fail"}} 20',
        f'drdrill_store_lost_writes{{{LABELS},store="pg-write"}} 3',
        f'drdrill_store_info_writes{{{LABELS},store="pg-write",fate="vanished"}} 1',
        f'drdrill_store_split_brain_writes{{{LABELS},store="pg-write"}} 0',
    ]:
        assert expected in lines
    # pg-replica never failed, so it has no RTO sample: only pg-write's.
    assert [line for line in lines if line.startswith("drdrill_probe_rto_seconds{")] == [
        f'drdrill_probe_rto_seconds{{{LABELS},probe="pg-write"}} 2.003']


def test_unknown_values_are_left_out(tmp_path: Path) -> None:
    summary = built_run(tmp_path / "run", DrillShape(aborted_in_baseline=True))

    lines = render_metrics(summary, "2026-12-03T12:00:00+00:00").splitlines()

    assert [line for line in lines if line.startswith(("drdrill_rto_seconds",
                                                        "drdrill_rpo_seconds",
                                                        "drdrill_store_lost_writes"))] == []
    assert f'drdrill_verdict{{{LABELS},verdict="aborted"}} 1' in lines
    assert f'drdrill_objective_verdict{{{LABELS},objective="rto",verdict="unknown"}} 1' in lines


def test_label_values_are_escaped() -> None:
    summary = {"drill": 'a"b\\c', "run_id": "r\n1", "verdict": "met"}

    lines = render_metrics(summary, None).splitlines()

    assert lines[2] == 'drdrill_verdict{drill="a\\"b\\\\c",run_id="r\\n1",verdict="met"} 1'


def test_the_file_is_replaced_whole(tmp_path: Path) -> None:
    target = tmp_path / "textfile" / "drdrill.prom"

    write_metrics(target, "first 1\n")
    write_metrics(target, "second 2\n")

    assert target.read_text() == "second 2\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert sorted(p.name for p in target.parent.iterdir()) == ["drdrill.prom"]
