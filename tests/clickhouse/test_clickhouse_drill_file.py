"""ClickHouse in a drill file: what `drdrill validate` accepts, and the warning it gives when
async_insert is on without wait_for_async_insert (an acknowledgement that means nothing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from drdrill.cli import app
from drdrill.drills.loader import load_drill

WARNING = (
    "warning: regions.primary.clickhouse.insert_settings: async_insert is on without"
    " wait_for_async_insert, so an acknowledged insert may still be lost; set"
    " wait_for_async_insert: 1"
)


def _drill_file(tmp_path: Path, insert_settings: dict[str, Any]) -> Path:
    data = {
        "name": "clickhouse-drill",
        "objectives": {"rto_seconds": 60, "rpo_seconds": 5},
        "regions": {
            "primary": {"clickhouse": {"url": "http://ch-us.internal:8123", "cluster": "dr",
                                       "insert_settings": insert_settings}},
            "secondary": {"clickhouse": {"url": "http://ch-eu.internal:8123"}},
        },
        "probes": [
            {"name": "ch-write", "kind": "clickhouse.write", "target": "primary.clickhouse",
             "critical": True},
            {"name": "ch-replica", "kind": "clickhouse.replica",
             "target": "secondary.clickhouse", "watches": "ch-write"},
        ],
        "fault": {"kind": "process.kill", "label": "primary.clickhouse", "pid": 4242},
        "failover": [
            {"kind": "clickhouse.switch", "target": "secondary.clickhouse",
             "statements": ["SYSTEM RESTART REPLICA default.drdrill_heartbeat"]},
        ],
    }
    path = tmp_path / "drill.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize("settings", [
    {"async_insert": 1, "wait_for_async_insert": 0},
    {"async_insert": "1", "wait_for_async_insert": "0"},
    {"async_insert": True, "wait_for_async_insert": "false"},
])
def test_async_insert_without_waiting_is_warned(tmp_path: Path, settings: dict[str, Any]) -> None:
    result = CliRunner().invoke(app, ["validate", str(_drill_file(tmp_path, settings))])

    assert result.exit_code == 0
    assert WARNING in result.output


@pytest.mark.parametrize("settings", [
    {},
    {"async_insert": 1},  # ClickHouse waits by default (wait_for_async_insert = 1)
    {"async_insert": 1, "wait_for_async_insert": 1},
    {"async_insert": 0},
    {"insert_quorum": 2},
])
def test_waited_or_synchronous_inserts_are_not_warned(
    tmp_path: Path, settings: dict[str, Any]
) -> None:
    result = CliRunner().invoke(app, ["validate", str(_drill_file(tmp_path, settings))])

    assert result.exit_code == 0
    assert "warning" not in result.output
    assert result.output.endswith("valid drill 'clickhouse-drill' (2 probes)\n")


def test_the_clickhouse_parts_of_a_drill_file_are_read(tmp_path: Path) -> None:
    loaded = load_drill(_drill_file(tmp_path, {"insert_quorum": 2}))
    drill = loaded.drill

    target = drill.target("primary.clickhouse")
    (step,) = drill.failover
    assert (target.database, target.table, target.cluster) == ("default", "drdrill_heartbeat", "dr")
    assert target.insert_settings == {"insert_quorum": 2}
    assert target.replication_note is None
    assert [p.kind for p in drill.probes] == ["clickhouse.write", "clickhouse.replica"]
    assert step.statements == ["SYSTEM RESTART REPLICA default.drdrill_heartbeat"]
    assert step.switch_probes is None
    assert loaded.warnings == []
