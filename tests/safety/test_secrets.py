"""Secrets in a drill file (a password in each DSN, an AWS secret key in an exec fault's env, an
AWS access key id in its arguments) appear in no file of the run directory and in nothing
printed, even when a command quotes one in its error. Run against real PostgreSQL servers that
trust loopback, so the password is accepted and unused."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest
import pytest_asyncio
import yaml

from drdrill.sim.pgcluster import PgPair

pytestmark = [pytest.mark.timeout(180), pytest.mark.slow]

PASSWORD = "S3cr3t-Pa55-in-dsn"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRETS = (PASSWORD, SECRET_KEY, KEY_ID)
DRDRILL = str(Path(sys.executable).with_name("drdrill"))


def _server_workdir() -> Path:
    # Not pytest's tmp_path: the unprivileged server user could not traverse its parent.
    workdir = Path(tempfile.mkdtemp(prefix="drdrill-secrets-"))
    workdir.chmod(0o711)
    return workdir


@pytest_asyncio.fixture
async def pair() -> AsyncIterator[PgPair]:
    workdir = _server_workdir()
    built = await PgPair.create(workdir)
    yield built
    await built.stop()
    shutil.rmtree(workdir)


def _with_password(dsn: str) -> str:
    return dsn.replace("drill@", f"drill:{PASSWORD}@", 1)


# The lift prints the secret key and fails, so the journal's lift error would quote it.
LEAK = "import os, sys; sys.stderr.write(os.environ['AWS_SECRET_ACCESS_KEY']); sys.exit(4)"


def _drill(pair: PgPair) -> dict[str, object]:
    return {
        "name": "secret-drill",
        "objectives": {"rto_seconds": 30, "rpo_seconds": 1},
        "baseline_seconds": 1, "stable_window_seconds": 1, "recovery_budget_seconds": 30,
        "regions": {
            "primary": {"postgres": {"dsn": _with_password(pair.primary.dsn)}},
            "secondary": {"postgres": {"dsn": _with_password(pair.standby.dsn)}},
        },
        "probes": [
            {"name": "pg-write", "kind": "postgres.write", "target": "primary.postgres",
             "critical": True},
            {"name": "pg-replica", "kind": "postgres.replica", "target": "secondary.postgres",
             "watches": "pg-write", "interval_ms": 200},
        ],
        "fault": {"kind": "exec", "label": "aws cli stand-in",
                  "argv": [sys.executable, "-c", "pass", "--key-id", KEY_ID],
                  "lift_argv": [sys.executable, "-c", LEAK],
                  "env": {"AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_ACCESS_KEY_ID": KEY_ID}},
        "failover": [{"kind": "postgres.promote", "name": "promote",
                      "target": "secondary.postgres"}],
    }


def _drdrill(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DRDRILL, *args], capture_output=True, text=True, timeout=150,
                          check=False)


def test_no_secret_in_the_run_directory_nor_in_anything_printed(
    pair: PgPair, tmp_path: Path
) -> None:
    drill_file = tmp_path / "drill.yaml"
    drill_file.write_text(yaml.safe_dump(_drill(pair)))
    out = tmp_path / "runs"

    printed = [_drdrill("plan", str(drill_file)), _drdrill("validate", str(drill_file)),
               _drdrill("run", str(drill_file), "--yes", "-v", "--out", str(out))]

    run = printed[-1]
    assert run.returncode in (0, 1), run.stderr[-2000:]
    (run_dir,) = out.iterdir()
    journal = [orjson.loads(line) for line in (run_dir / "journal.jsonl").read_bytes().splitlines()]
    # The paths that would carry a secret were all taken: the fault's target, its lift error.
    (lift,) = [r for r in journal if r["k"] == "fault" and r["event"] == "lift"]
    assert lift["ok"] is False
    assert lift["error"].endswith("exited with 4: ***")
    assert lift["target"] == f"aws cli stand-in: {sys.executable} -c pass --key-id ***;" \
        f" lift: {sys.executable} -c " + shlex.quote(LEAK)
    assert {r["k"] for r in journal} >= {"run", "phase", "op", "fault", "step", "final_read", "end"}

    files = [path for path in run_dir.rglob("*") if path.is_file()]
    assert {path.name for path in files} >= {"journal.jsonl", "summary.json"}
    for path in files:
        content = path.read_bytes()
        for secret in SECRETS:
            assert secret.encode() not in content, f"{secret} in {path}"
    for result in printed:
        for secret in SECRETS:
            assert secret not in result.stdout + result.stderr, f"{secret} printed"
    assert f"drill:***@127.0.0.1:{pair.primary.port}/drill" in printed[0].stdout
