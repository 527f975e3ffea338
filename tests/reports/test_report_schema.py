"""summary.json against its JSON Schema, shipped in the package: a real summary fits, and a
summary off the schema is refused with every mismatch named."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from report_journals import DrillShape, built_run

from drdrill.reports.schema import (
    SCHEMA_VERSION,
    SummarySchemaError,
    summary_problems,
    summary_schema,
    validate_summary,
)


def test_the_schema_ships_in_the_package() -> None:
    schema = summary_schema()

    assert SCHEMA_VERSION == 1
    assert schema["$id"] == "urn:drdrill:schema:summary:v1"
    assert schema["properties"]["schema_version"] == {"const": 1}


def test_a_real_summary_fits_the_schema(tmp_path: Path) -> None:
    summary = built_run(tmp_path / "run", DrillShape(lost=[(26, 28)]))
    on_disk = json.loads((tmp_path / "run" / "summary.json").read_text())

    assert summary_problems(summary) == []
    assert summary_problems(on_disk) == []
    validate_summary(on_disk)


def test_an_aborted_run_fits_the_schema(tmp_path: Path) -> None:
    summary = built_run(tmp_path / "run", DrillShape(aborted_in_baseline=True))

    assert summary["verdict"] == "aborted"
    assert summary_problems(summary) == []


def test_every_mismatch_is_named(tmp_path: Path) -> None:
    good = built_run(tmp_path / "run", DrillShape())
    bad = copy.deepcopy(good)
    bad["verdict"] = "fine"
    bad["stores"][0]["acked"] = -1
    del bad["rto"]

    with pytest.raises(SummarySchemaError) as caught:
        validate_summary(bad)

    assert caught.value.problems == [
        "(top level): 'rto' is a required property",
        "stores[0].acked: -1 is less than the minimum of 0",
        "verdict: 'fine' is not one of ['met', 'missed', 'unknown', 'aborted']",
    ]
