"""Every drill file in examples/ validates and plans; `drdrill failover` on the GA cutover file.

The files are the ones users copy: each must pass `drdrill validate` and `drdrill plan` as it
is, with no warning. The expected names and counts are read from each file's own YAML.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from drdrill import cli
from drdrill.cli import app

EXAMPLES = Path(__file__).parents[2] / "examples"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.yaml"))
GA_CUTOVER = EXAMPLES / "ga-cutover.yaml"


def _yaml(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return data


def test_the_examples_are_the_expected_files() -> None:
    assert [path.name for path in EXAMPLE_FILES] == [
        "aurora-global.yaml", "compose.yaml", "ga-cutover.yaml", "k8s-patroni.yaml",
        "k8s-streaming.yaml", "local.yaml", "nats-supercluster.yaml",
    ]


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_validate_passes_without_warnings(path: Path) -> None:
    data = _yaml(path)

    result = CliRunner().invoke(app, ["validate", str(path)])

    assert result.exit_code == 0, result.output
    assert result.stdout == f"{path}: valid drill {data['name']!r} ({len(data['probes'])} probes)\n"
    assert result.stderr == ""


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_plan_lists_every_probe_fault_and_step(path: Path) -> None:
    data = _yaml(path)
    faults = data["fault"] if isinstance(data["fault"], list) else [data["fault"]]

    result = CliRunner().invoke(app, ["plan", str(path)])

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"drill {data['name']}: {data['description']}"
    objectives = data["objectives"]
    assert lines[1] == f"objectives: RTO <= {float(objectives['rto_seconds'])} s," \
        f" RPO <= {float(objectives['rpo_seconds'])} s"
    probe_lines = [line for line in lines if line.startswith("  - ") and " every " in line]
    assert [line.split(" [")[0] for line in probe_lines] == \
        [f"  - {probe['name']}" for probe in data["probes"]]
    assert [line.split(" -> ")[0] for line in lines if line.startswith("2. fault (T0): ")] == \
        [f"2. fault (T0): {fault['kind']}" for fault in faults]
    failover = lines[lines.index("3. failover:") + 1:_recovery_index(lines)]
    assert [line.split(" [")[0] for line in failover] == \
        [f"  - {step['name']}" for step in data["failover"]]
    assert result.stderr == ""


def _recovery_index(lines: list[str]) -> int:
    return next(i for i, line in enumerate(lines) if line.startswith("4. recovery:"))


def test_ga_cutover_has_the_seed_objectives_and_regions() -> None:
    data = _yaml(GA_CUTOVER)

    assert data["objectives"] == {"rto_seconds": 900, "rpo_seconds": 10}
    assert list(data["regions"]) == ["us-east-1", "eu-central-1"]


def test_failover_dry_run_prints_the_plan_and_touches_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    evidence = tmp_path / "evidence"
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    # Tripwires: a dry run must reach neither the confirmation nor the drill's execution.
    monkeypatch.setattr(cli, "_ask", _tripwire)
    monkeypatch.setattr("drdrill.drills.execute.execute_drill", _tripwire)
    plan = CliRunner().invoke(app, ["plan", str(GA_CUTOVER)])

    result = CliRunner().invoke(app, [
        "failover", "--dry-run", "--from", "us-east-1", "--to", "eu-central-1",
        "--evidence", str(evidence), str(GA_CUTOVER),
    ])

    assert result.exit_code == 0, result.output
    assert result.stdout == \
        f"failover us-east-1 -> eu-central-1, evidence in {evidence}\n{plan.stdout}"
    assert result.stderr == ""
    assert not evidence.exists()
    assert list(tmp_path.iterdir()) == [workdir]
    assert list(workdir.iterdir()) == []


def _tripwire(*args: object, **kwargs: object) -> None:
    raise AssertionError("a dry run went past the plan")


@pytest.mark.parametrize(("options", "problems"), [
    (["--from", "us-east-1", "--to", "eu-west-1"],
     ["--to: region 'eu-west-1' is not declared in the drill file"
      " (regions: ['eu-central-1', 'us-east-1'])"]),
    (["--from", "ap-south-1", "--to", "ap-south-2"],
     ["--from: region 'ap-south-1' is not declared in the drill file"
      " (regions: ['eu-central-1', 'us-east-1'])",
      "--to: region 'ap-south-2' is not declared in the drill file"
      " (regions: ['eu-central-1', 'us-east-1'])"]),
    (["--from", "eu-central-1", "--to", "eu-central-1"],
     ["--from and --to both name 'eu-central-1': a failover needs two regions"]),
    (["--from", "eu-central-1", "--to", "us-east-1"],
     ["failover[0] (promote-postgres): targets 'eu-central-1.postgres', which is not in the"
      " --to region 'us-east-1'",
      "failover[1] (promote-nats): targets 'eu-central-1.nats', which is not in the --to"
      " region 'us-east-1'"]),
], ids=["unknown-to", "unknown-both", "same-region", "steps-elsewhere"])
def test_failover_refuses_regions_the_file_does_not_fail_over_between(
    tmp_path: Path, options: list[str], problems: list[str]
) -> None:
    evidence = tmp_path / "evidence"

    result = CliRunner().invoke(
        app, ["failover", "--dry-run", *options, "--evidence", str(evidence), str(GA_CUTOVER)]
    )

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [f"{GA_CUTOVER}: {problem}" for problem in problems]
    assert not evidence.exists()


def test_failover_refuses_a_file_whose_steps_name_no_region(tmp_path: Path) -> None:
    path = EXAMPLES / "k8s-patroni.yaml"

    result = CliRunner().invoke(app, [
        "failover", "--dry-run", "--from", "us-east-1", "--to", "eu-central-1",
        "--evidence", str(tmp_path / "evidence"), str(path),
    ])

    assert result.exit_code == 2
    assert result.stderr == (
        f"{path}: no failover step targets the --to region 'eu-central-1' (steps without a"
        " target, such as route53.flip, name no region); use `drdrill run` for this file\n"
    )


def test_failover_refuses_an_evidence_directory_holding_files(tmp_path: Path) -> None:
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "journal.jsonl").write_text("{}\n")

    result = CliRunner().invoke(app, [
        "failover", "--from", "us-east-1", "--to", "eu-central-1", "--yes",
        "--evidence", str(evidence), str(GA_CUTOVER),
    ])

    assert result.exit_code == 2
    assert result.stderr == f"--evidence: {evidence} exists and is not an empty directory\n"
    assert [p.name for p in evidence.iterdir()] == ["journal.jsonl"]
