"""Bad drill files: each problem names the file, the field path and the bad value; exit 2."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from drdrill.cli import app
from drdrill.drills.loader import load_drill
from drdrill.errors import DrillFileError

EXAMPLE = Path(__file__).parents[2] / "examples" / "local.yaml"


def _write(tmp_path: Path, mutate) -> Path:
    data = yaml.safe_load(EXAMPLE.read_text())
    mutate(data)
    path = tmp_path / "drill.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _problems(path: Path) -> list[str]:
    with pytest.raises(DrillFileError) as caught:
        load_drill(path)
    assert caught.value.path == str(path)
    return caught.value.problems


def test_the_example_is_valid() -> None:
    loaded = load_drill(EXAMPLE)

    assert loaded.drill.name == "local-postgres"
    assert [p.name for p in loaded.drill.probes] == ["pg-write", "pg-replica"]
    assert len(loaded.sha256) == 64


def test_wrong_type_names_the_field_and_the_value(tmp_path: Path) -> None:
    path = _write(tmp_path, lambda d: d["probes"][0].update(interval_ms="fast"))

    assert _problems(path) == [
        "probes[0].interval_ms: input should be a valid integer, unable to parse string as an"
        " integer, got 'fast'"
    ]


def test_missing_field(tmp_path: Path) -> None:
    path = _write(tmp_path, lambda d: d["regions"]["primary"]["postgres"].pop("dsn"))

    assert _problems(path) == ["regions.primary.postgres.dsn: required field is missing"]


def test_unknown_key(tmp_path: Path) -> None:
    path = _write(tmp_path, lambda d: d["objectives"].update(rto_secs=10))

    assert _problems(path) == [
        "objectives.rto_secs: unknown field (value 10); check its spelling"
    ]


def test_unknown_probe_kind(tmp_path: Path) -> None:
    path = _write(tmp_path, lambda d: d["probes"][1].update(kind="postgres.reader"))

    (problem,) = _problems(path)
    assert problem.startswith("probes[1].kind: unknown kind 'postgres.reader'; expected one of")


def test_dangling_target_and_watch(tmp_path: Path) -> None:
    def mutate(data: dict) -> None:
        data["probes"][0]["target"] = "europe.postgres"
        data["probes"][1]["watches"] = "nope"

    assert _problems(_write(tmp_path, mutate)) == [
        "probes[0].target: region 'europe' is not declared (regions: ['primary', 'secondary'])",
        "probes[1].watches: 'nope' is not a write probe of this drill (write probes: "
        "['pg-write'])",
    ]


def test_not_yaml(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: [unclosed\n")

    (problem,) = _problems(path)
    assert problem.startswith("not valid YAML: line 2, column 1")


@pytest.mark.parametrize("command", ["validate", "run", "plan"])
def test_cli_exits_2_and_names_the_field(tmp_path: Path, command: str) -> None:
    path = _write(tmp_path, lambda d: d.update(stable_window_seconds=-1))
    out = tmp_path / "runs"

    args = [command, str(path)] + (["--out", str(out)] if command == "run" else [])
    result = CliRunner().invoke(app, args)

    assert result.exit_code == 2
    assert f"{path}: invalid drill file" in result.output
    assert "stable_window_seconds: input should be greater than 0, got -1" in result.output
    assert not out.exists()  # nothing started, not even a run directory


def test_validate_and_plan_the_example(tmp_path: Path) -> None:
    copy = tmp_path / "local.yaml"
    shutil.copy(EXAMPLE, copy)

    assert CliRunner().invoke(app, ["validate", str(copy)]).exit_code == 0
    plan = CliRunner().invoke(app, ["plan", str(copy)])
    assert plan.exit_code == 0
    assert "2. fault (T0): process.kill -> primary.postgres" in plan.output
    assert "promote-standby [postgres.promote] -> secondary.postgres" in plan.output


def test_unknown_fault_kind_names_the_field_without_pydantic_internals(tmp_path: Path) -> None:
    path = _write(tmp_path, lambda d: d["fault"].update(kind="process.explode"))

    (problem,) = _problems(path)
    assert problem.startswith("fault.kind: unknown kind 'process.explode'; expected one of")
    assert "tagged-union" not in problem


def test_a_bad_field_of_a_fault_in_a_list(tmp_path: Path) -> None:
    path = _write(tmp_path, lambda d: d.update(fault=[{**d["fault"], "bogus": 1}]))

    assert _problems(path) == ["fault[0].bogus: unknown field (value 1); check its spelling"]


def test_a_process_fault_needs_a_way_to_find_its_process(tmp_path: Path) -> None:
    path = _write(tmp_path, lambda d: d["fault"].pop("pid_file"))

    assert _problems(path) == [
        "fault: value error, give exactly one of pid and pid_file, got"
        " {'kind': 'process.kill', 'label': 'primary.postgres'}"
    ]


def test_a_key_given_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text(EXAMPLE.read_text() + "stable_window_seconds: 9\n")

    (problem,) = _problems(path)
    assert "key 'stable_window_seconds' is given twice in this mapping" in problem


def test_a_budget_shorter_than_the_stable_window_can_never_pass(tmp_path: Path) -> None:
    path = _write(tmp_path, lambda d: d.update(recovery_budget_seconds=1))

    assert _problems(path) == [
        "recovery_budget_seconds: 1 must exceed stable_window_seconds (2), or no recovery can"
        " be seen"
    ]
