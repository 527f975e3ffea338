"""`drdrill failover` for real: a PostgreSQL primary and its streaming standby on this machine
(the simulator's pair), the primary's postmaster killed, the standby promoted; the command
prints RTO and RPO against the objectives and leaves a verifiable evidence bundle in DIR."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
import yaml

from drdrill.sim.pgcluster import PgPair

pytestmark = pytest.mark.timeout(120)

CLI = [sys.executable, "-c", "from drdrill.cli import main; main()"]


def _make_workdir() -> Path:
    # Not pytest's tmp_path: its parent is mode 0700, which the unprivileged server user
    # could not traverse.
    workdir = Path(tempfile.mkdtemp(prefix="drdrill-failover-"))
    workdir.chmod(0o711)
    return workdir


def _others_than(parent: Path, name: str) -> list[str]:
    return [path.name for path in parent.iterdir() if path.name != name]


@pytest_asyncio.fixture
async def pair() -> AsyncIterator[PgPair]:
    workdir = _make_workdir()
    built = await PgPair.create(workdir)
    yield built
    await built.stop()
    shutil.rmtree(workdir)


def _drill(pair: PgPair) -> dict[str, object]:
    assert pair.primary.process is not None
    return {
        "name": "local-failover",
        "description": "kill the local primary, promote the local standby",
        "objectives": {"rto_seconds": 30, "rpo_seconds": 5},
        "stable_window_seconds": 1,
        "baseline_seconds": 2,
        "recovery_budget_seconds": 30,
        "regions": {
            "us-east-1": {"postgres": {"dsn": pair.primary.dsn}},
            "eu-central-1": {"postgres": {"dsn": pair.standby.dsn}},
        },
        "probes": [
            {"name": "pg-write", "kind": "postgres.write", "target": "us-east-1.postgres",
             "interval_ms": 50, "critical": True},
            {"name": "pg-replica", "kind": "postgres.replica", "target": "eu-central-1.postgres",
             "watches": "pg-write", "interval_ms": 200},
        ],
        "fault": {"kind": "process.kill", "label": "us-east-1.postgres",
                  "pid": pair.primary.process.pid},
        "failover": [{"name": "promote", "kind": "postgres.promote",
                      "target": "eu-central-1.postgres"}],
    }


async def _drdrill(*args: str, cwd: Path) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *CLI, *args, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_failover_prints_the_objectives_and_leaves_the_evidence_bundle(
    pair: PgPair, tmp_path: Path
) -> None:
    drill_file = tmp_path / "drill.yaml"
    drill_file.write_text(yaml.safe_dump(_drill(pair)))
    evidence = tmp_path / "evidence" / "rehearsal-1"

    code, out, err = await _drdrill(
        "failover", "--from", "us-east-1", "--to", "eu-central-1", "--evidence", str(evidence),
        str(drill_file), cwd=tmp_path)
    verified = await _drdrill("verify", str(evidence), cwd=tmp_path)

    assert code == 0, out + err
    lines = out.splitlines()
    assert lines[0] == f"failover us-east-1 -> eu-central-1, evidence in {evidence}"
    # The outcome follows the run's progress lines.
    verdict = lines.index("verdict: met")
    rto, rpo = lines[verdict + 1], lines[verdict + 2]
    assert rto.startswith("RTO: ") and rto.endswith(" (objective 30 s: met)"), out
    assert rpo.startswith("RPO: ") and rpo.endswith(" (objective 5 s: met)"), out
    assert lines[-1] == f"run directory: {evidence}"

    listed = [line.split("  ", 1)[1] for line in
              (evidence / "evidence.sha256").read_text().splitlines()]
    assert listed == ["journal.jsonl", "drill.masked.yaml", "environment.json", "summary.json",
                      "report.md", "report.html", "junit.xml"]
    summary = json.loads((evidence / "summary.json").read_text())
    assert (summary["drill"], summary["status"], summary["verdict"]) == \
        ("local-failover", "completed", "met")
    assert [summary["objectives"][name]["objective_seconds"] for name in ("rto", "rpo")] == \
        [30.0, 5.0]
    assert _others_than(tmp_path, "evidence") == ["drill.yaml"]
    assert verified[0] == 0, verified
    assert verified[1].splitlines()[-1] == "evidence intact"
