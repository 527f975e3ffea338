"""`drdrill preflight`: probes for a few seconds, a read-only check of every fault and step,
nothing injected, against a real PostgreSQL primary and standby."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
import yaml
from typer.testing import CliRunner

from drdrill.cli import app
from drdrill.drills.checks import CheckStatus
from drdrill.drills.loader import parse_drill
from drdrill.drills.preflight import render_preflight, run_preflight
from drdrill.sim.pgcluster import PgPair
from drdrill.sim.procstate import live_processes_in

pytestmark = pytest.mark.timeout(120)


def _server_workdir() -> Path:
    # Not pytest's tmp_path: the unprivileged server user could not traverse its parent.
    workdir = Path(tempfile.mkdtemp(prefix="drdrill-preflight-"))
    workdir.chmod(0o711)
    return workdir


@pytest_asyncio.fixture(scope="module")
async def pair() -> AsyncIterator[PgPair]:
    workdir = _server_workdir()
    built = await PgPair.create(workdir)
    primary = await asyncpg.connect(built.primary.dsn)
    try:
        await primary.execute("CREATE ROLE weak LOGIN; CREATE ROLE granted LOGIN;"
                              " GRANT EXECUTE ON FUNCTION pg_promote TO granted")
    finally:
        await primary.close()
    await _until_on_standby(built, "granted")
    yield built
    await built.stop()
    assert live_processes_in(workdir) == []
    shutil.rmtree(workdir)


async def _until_on_standby(pair: PgPair, role: str) -> None:
    standby = await asyncpg.connect(pair.standby.dsn)
    try:
        for _ in range(200):
            if await standby.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role):
                return
            await asyncio.sleep(0.05)
    finally:
        await standby.close()
    raise TimeoutError(f"role {role} never reached the standby")


def _as(dsn: str, user: str) -> str:
    return dsn.replace("drill@", f"{user}@", 1)


def _drill(pair: PgPair, promote_dsn: str | None = None) -> dict[str, Any]:
    return {
        "name": "preflight-drill", "objectives": {"rto_seconds": 30},
        "regions": {
            "primary": {"postgres": {"dsn": pair.primary.dsn}},
            "secondary": {"postgres": {"dsn": promote_dsn or pair.standby.dsn}},
        },
        "probes": [
            {"name": "pg-write", "kind": "postgres.write", "target": "primary.postgres",
             "critical": True},
            {"name": "pg-replica", "kind": "postgres.replica", "target": "secondary.postgres",
             "watches": "pg-write", "interval_ms": 200},
        ],
        "fault": {"kind": "process.kill", "label": "primary.postgres",
                  "pid_file": str(pair.primary.data_dir / "postmaster.pid")},
        "failover": [{"kind": "postgres.promote", "name": "promote",
                      "target": "secondary.postgres"}],
        "rollback": [{"kind": "sleep", "seconds": 1}],
    }


async def test_a_ready_drill_is_ready_and_nothing_was_touched(pair: PgPair) -> None:
    drill = parse_drill("t.yaml", _drill(pair))
    primary_pid = pair.primary.process.pid if pair.primary.process else None

    report = await run_preflight(drill, 1.0)

    assert report.ready
    assert report.probe_problems == {}
    writes = report.probes["pg-write"]
    assert writes.ok == writes.ops and writes.ops in (10, 11)
    assert [(c.where, c.kind, c.result.status, c.result.detail) for c in report.checks] == [
        ("fault[0]", "process.kill", CheckStatus.OK,
         f"primary.postgres is pid {primary_pid} and may be signalled"),
        ("failover[0]", "postgres.promote", CheckStatus.OK,
         "secondary.postgres is in recovery; role drill may promote (superuser)"),
        ("rollback[0]", "sleep", CheckStatus.OK, "waits 1 s"),
    ]
    # Still a standby, and the primary still runs: the checks changed nothing.
    standby = await asyncpg.connect(pair.standby.dsn)
    try:
        assert await standby.fetchval("SELECT pg_is_in_recovery()") is True
    finally:
        await standby.close()
    assert pair.primary.is_running
    assert render_preflight(report)[-1] == "verdict: ready"


@pytest.mark.parametrize(
    ("user", "status", "detail"),
    [
        ("weak", CheckStatus.FAILED,
         "secondary.postgres: role weak may not call pg_promote (not a superuser and no"
         " EXECUTE on pg_promote); GRANT EXECUTE ON FUNCTION pg_promote TO weak"),
        ("granted", CheckStatus.OK,
         "secondary.postgres is in recovery; role granted may promote (EXECUTE on pg_promote)"),
    ],
)
async def test_promote_needs_superuser_or_execute_on_pg_promote(
    pair: PgPair, user: str, status: CheckStatus, detail: str
) -> None:
    drill = parse_drill("t.yaml", _drill(pair, _as(pair.standby.dsn, user)))
    report = await run_preflight(drill, 0.3)
    promote = report.checks[1]
    assert (promote.result.status, promote.result.detail) == (status, detail)
    assert report.ready is (status == CheckStatus.OK)


async def test_promoting_a_primary_fails_preflight(pair: PgPair) -> None:
    drill = parse_drill("t.yaml", _drill(pair, pair.primary.dsn))
    report = await run_preflight(drill, 0.3)
    assert report.checks[1].result.detail == (
        "secondary.postgres is not in recovery (pg_is_in_recovery() is false): not a standby"
    )
    assert not report.ready


def test_the_command_exits_0_when_ready_and_2_when_not(pair: PgPair, tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(_drill(pair)))
    bad_data = _drill(pair)
    bad_data["fault"]["pid_file"] = str(tmp_path / "no-such.pid")
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(bad_data))

    ready = CliRunner().invoke(app, ["preflight", str(good), "--seconds", "0.5"])
    assert ready.exit_code == 0, ready.output
    assert ready.output.splitlines()[-1] == "verdict: ready"

    not_ready = CliRunner().invoke(app, ["preflight", str(bad), "--seconds", "0.5"])
    assert not_ready.exit_code == 2
    assert "  FAILED     fault[0] primary.postgres [process.kill]: process.kill" \
        f" primary.postgres: cannot read a pid from {tmp_path / 'no-such.pid'}:" in \
        not_ready.output
    assert os.path.exists(pair.primary.data_dir / "postmaster.pid")
