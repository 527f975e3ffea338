"""The compose file's PostgreSQL scripts, run for real: the primary's init script and the
standby's entrypoint build a streaming standby on a replication slot, as in the containers.

The containers' environment is reproduced: the image's pg_hba.conf (trust on the socket,
scram-sha-256 for every host, and nothing for replication), PGPORT as the only port setting,
the init script run against the primary's socket, an empty data directory of mode 1777 for
the standby. Servers run as the unprivileged user on free loopback ports.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio

from drdrill.sim.pgcluster import find_pg_bin
from drdrill.sim.procs import ManagedProcess, free_port, server_user

pytestmark = pytest.mark.timeout(120)

SCRIPTS = Path(__file__).parents[2] / "compose" / "postgres"
PASSWORD = "rehearsal"
# What the official image leaves in pg_hba.conf for a remote standby to meet: initdb's
# loopback lines do not apply to a standby in another container, so they are left out here.
IMAGE_PG_HBA = "local all all trust\nhost all all all scram-sha-256\n"
REPLICATION = {"REPLICATION_USER": "replicator", "REPLICATION_PASSWORD": "replicator",
               "REPLICATION_SLOT": "eu_central_1"}


class Servers:
    """The workdir, the two servers' ports and processes."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.bin_dir = find_pg_bin()
        self.sockets = self._owned_dir("sockets", 0o755)
        self.primary_port = free_port()
        self.standby_port = free_port()
        self.processes: list[ManagedProcess] = []

    def _owned_dir(self, name: str, mode: int) -> Path:
        path = self.workdir / name
        path.mkdir()
        owner = server_user()
        if owner is not None:
            os.chown(path, *owner)
        path.chmod(mode)
        return path

    def env(self, **extra: str) -> dict[str, str]:
        base = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
        base["PATH"] = f"{self.bin_dir}:{base['PATH']}"
        return base | extra

    def dsn(self, port: int, database: str = "postgres") -> str:
        return f"postgresql://drill:{PASSWORD}@127.0.0.1:{port}/{database}"

    def start(self, name: str, argv: list[str], **env: str) -> ManagedProcess:
        process = ManagedProcess.start(name, argv, log_dir=self.workdir, env=self.env(**env),
                                       cwd=self.workdir, run_as_unprivileged=True)
        self.processes.append(process)
        return process

    async def stop(self) -> None:
        for process in reversed(self.processes):
            await process.stop(30.0)


async def _run(servers: Servers, name: str, argv: list[str], **env: str) -> None:
    process = servers.start(name, argv, **env)
    code = await process.wait_exited(60.0)
    assert code == 0, process.log_tail()


async def _wait_answering(process: ManagedProcess, dsn: str) -> None:
    deadline = time.monotonic() + 30.0
    while True:
        assert process.is_running, process.log_tail()
        try:
            conn = await asyncpg.connect(dsn, timeout=1)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            assert time.monotonic() < deadline, process.log_tail()
            await asyncio.sleep(0.1)
            continue
        await conn.close()
        return


async def _fetch(dsn: str, query: str) -> list[tuple[object, ...]]:
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        return [tuple(row) for row in await conn.fetch(query)]
    finally:
        await conn.close()


def _make_workdir() -> Path:
    """A workdir the unprivileged user can traverse (pytest's tmp_path is below a 0700
    directory), holding copies of the scripts it can read."""
    workdir = Path(tempfile.mkdtemp(prefix="drdrill-compose-pg-"))
    workdir.chmod(0o711)
    for script in SCRIPTS.iterdir():
        shutil.copy(script, workdir / script.name)
    return workdir


@pytest_asyncio.fixture
async def servers() -> AsyncIterator[Servers]:
    built = Servers(_make_workdir())
    yield built
    await built.stop()
    shutil.rmtree(built.workdir)


async def _start_primary(servers: Servers) -> None:
    """initdb as the image runs it, the image's pg_hba.conf, then the server on PGPORT."""
    data = servers._owned_dir("primary", 0o700)
    pwfile = servers.workdir / "pwfile"
    pwfile.write_text(PASSWORD + "\n")
    pwfile.chmod(0o644)
    await _run(servers, "initdb", ["initdb", "-D", str(data), "--username=drill",
                                   f"--pwfile={pwfile}", "--no-instructions"])
    (data / "pg_hba.conf").write_text(IMAGE_PG_HBA)

    port = str(servers.primary_port)
    primary = servers.start("pg-us", ["postgres", "-D", str(data), "-k", str(servers.sockets),
                                      "-c", "listen_addresses=127.0.0.1"], PGPORT=port)
    await _wait_answering(primary, servers.dsn(servers.primary_port))
    await _run(servers, "primary-init", ["bash", str(servers.workdir / "primary-init.sh")],
               PGDATA=str(data), PGHOST=str(servers.sockets), PGPORT=port,
               POSTGRES_USER="drill", POSTGRES_DB="postgres", **REPLICATION)
    # The image starts its final server after the init scripts; here a reload reads the new
    # pg_hba.conf line just as well.
    await _fetch(servers.dsn(servers.primary_port), "SELECT pg_reload_conf()")


async def test_the_scripts_build_a_standby_streaming_on_its_slot(servers: Servers) -> None:
    await _start_primary(servers)
    standby_data = servers._owned_dir("standby", 0o1777)

    standby = servers.start(
        "pg-eu", ["bash", str(servers.workdir / "replica-entrypoint.sh"),
                  "-k", str(servers.sockets), "-c", "listen_addresses=127.0.0.1"],
        PGDATA=str(standby_data), PGPORT=str(servers.standby_port),
        PRIMARY_HOST="127.0.0.1", PRIMARY_PORT=str(servers.primary_port),
        REPLICA_NAME="pg-eu", **REPLICATION,
    )
    await _wait_answering(standby, servers.dsn(servers.standby_port))

    primary_dsn = servers.dsn(servers.primary_port)
    standby_dsn = servers.dsn(servers.standby_port)
    assert await _fetch(standby_dsn, "SELECT pg_is_in_recovery()") == [(True,)]
    assert standby_data.stat().st_mode & 0o7777 == 0o700
    await _wait_streaming(primary_dsn)
    assert await _fetch(primary_dsn, "SELECT slot_name, active FROM pg_replication_slots") == \
        [("eu_central_1", True)]
    assert await _fetch(primary_dsn, "SELECT rolname, rolreplication FROM pg_roles"
                                     " WHERE rolname = 'replicator'") == [("replicator", True)]

    await _fetch(primary_dsn, "CREATE TABLE t AS SELECT 42 AS answer")
    await _wait_replayed(standby_dsn)
    assert await _fetch(standby_dsn, "SELECT answer FROM t") == [(42,)]


async def test_a_restarted_standby_keeps_its_data_and_follows_again(servers: Servers) -> None:
    await _start_primary(servers)
    standby_data = servers._owned_dir("standby", 0o1777)
    argv = ["bash", str(servers.workdir / "replica-entrypoint.sh"),
            "-k", str(servers.sockets), "-c", "listen_addresses=127.0.0.1"]
    env = dict(PGDATA=str(standby_data), PGPORT=str(servers.standby_port),
               PRIMARY_HOST="127.0.0.1", PRIMARY_PORT=str(servers.primary_port),
               REPLICA_NAME="pg-eu", **REPLICATION)
    first = servers.start("pg-eu", argv, **env)
    await _wait_answering(first, servers.dsn(servers.standby_port))
    await first.stop(30.0)

    second = servers.start("pg-eu-again", argv, **env)
    await _wait_answering(second, servers.dsn(servers.standby_port))

    assert "copying the primary" not in second.log_path.read_text()
    await _wait_streaming(servers.dsn(servers.primary_port))


async def _wait_streaming(primary_dsn: str) -> None:
    deadline = time.monotonic() + 30.0
    query = "SELECT application_name, state FROM pg_stat_replication"
    while await _fetch(primary_dsn, query) != [("pg-eu", "streaming")]:
        assert time.monotonic() < deadline, await _fetch(primary_dsn, query)
        await asyncio.sleep(0.1)


async def _wait_replayed(standby_dsn: str) -> None:
    deadline = time.monotonic() + 30.0
    query = "SELECT count(*) FROM pg_class WHERE relname = 't'"
    while await _fetch(standby_dsn, query) != [(1,)]:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
