"""The simulator's PostgreSQL pair against real PostgreSQL 16 servers: streaming, read-only
standby, kill and promote, reading the old primary alone, and no stray server afterwards."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio

import drdrill
from drdrill.sim.pgcluster import PgBinariesNotFound, PgClusterError, PgPair, find_pg_bin
from drdrill.sim.procs import ProcessStartError, check_reachable, free_port, server_user
from drdrill.sim.procstate import live_processes_in

pytestmark = pytest.mark.timeout(60)

ROWS: list[tuple[object, ...]] = [(1, "a"), (2, "b"), (3, "c")]


def _make_workdir() -> Path:
    # Not pytest's tmp_path: its parent is mode 0700, which the unprivileged server user
    # could not traverse.
    workdir = Path(tempfile.mkdtemp(prefix="drdrill-pg-"))
    workdir.chmod(0o711)
    return workdir


@pytest.fixture
def workdir() -> Iterator[Path]:
    path = _make_workdir()
    yield path
    shutil.rmtree(path)


@pytest_asyncio.fixture(scope="module")
async def pair() -> AsyncIterator[PgPair]:
    """One healthy pair for the tests that leave it healthy."""
    path = _make_workdir()
    built = await PgPair.create(path)
    yield built
    await built.stop()
    assert live_processes_in(path) == []
    shutil.rmtree(path)


async def _fetch(dsn: str, query: str) -> list[tuple[object, ...]]:
    conn = await asyncpg.connect(dsn)
    try:
        return [tuple(record) for record in await conn.fetch(query)]
    finally:
        await conn.close()


async def _write_rows(dsn: str, table: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, v text)")
        await conn.executemany(f"INSERT INTO {table} VALUES ($1, $2)", ROWS)
    finally:
        await conn.close()


async def _wait_rows(dsn: str, table: str, expected: list[tuple[object, ...]]) -> None:
    """Poll until `table` holds `expected` (replay is asynchronous), at most 10 s."""
    deadline = time.monotonic() + 10
    query = f"SELECT id, v FROM {table} ORDER BY id"
    while True:
        try:
            if await _fetch(dsn, query) == expected:
                return
        except asyncpg.UndefinedTableError:
            pass
        assert time.monotonic() < deadline, f"{table} never held {expected}"
        await asyncio.sleep(0.05)


def _uid_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError(f"no Uid line for pid {pid}")


class Relay:
    """A plain TCP relay on the replication link, counting the connections it carried."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.connections = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def close(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            # The primary is dead: the standby's retry sees its link close at once.
            writer.close()
            return
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(source, sink))
            self._tasks.add(task)

    @staticmethod
    async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        except ConnectionError:
            pass
        finally:
            sink.close()


@pytest.mark.timeout(10)
async def test_standby_streams_from_the_primary(pair: PgPair) -> None:
    receiver = await _fetch(
        pair.standby.dsn, "SELECT status, sender_host, sender_port FROM pg_stat_wal_receiver"
    )
    senders = await _fetch(
        pair.primary.dsn, "SELECT application_name, state, sync_state FROM pg_stat_replication"
    )
    slots = await _fetch(
        pair.primary.dsn, "SELECT slot_name, slot_type, active FROM pg_replication_slots"
    )

    assert receiver == [("streaming", "127.0.0.1", pair.primary.port)]
    assert senders == [("standby", "streaming", "async")]
    assert slots == [("standby", "physical", True)]


@pytest.mark.timeout(10)
async def test_nodes_are_named_and_run_unprivileged(pair: PgPair) -> None:
    owner = server_user()
    expected_uid = owner[0] if owner else os.getuid()

    assert pair.primary.process_name == "primary.postgres"
    assert pair.standby.process_name == "standby.postgres"
    assert pair.primary.dsn == f"postgresql://drill@127.0.0.1:{pair.primary.port}/drill"
    assert pair.standby.dsn == f"postgresql://drill@127.0.0.1:{pair.standby.port}/drill"
    assert pair.primary.port != pair.standby.port
    assert [_uid_of(node.process.pid) for node in pair.nodes if node.process] == [
        expected_uid,
        expected_uid,
    ]
    assert await _fetch(pair.primary.dsn, "SHOW unix_socket_directories") == [("",)]
    assert await _fetch(pair.primary.dsn, "SHOW fsync") == [("on",)]


@pytest.mark.timeout(15)
async def test_rows_written_on_the_primary_appear_on_the_standby(pair: PgPair) -> None:
    await _write_rows(pair.primary.dsn, "streamed")

    await _wait_rows(pair.standby.dsn, "streamed", ROWS)


@pytest.mark.timeout(10)
async def test_insert_on_the_standby_is_refused_as_read_only(pair: PgPair) -> None:
    conn = await asyncpg.connect(pair.standby.dsn)
    try:
        with pytest.raises(asyncpg.ReadOnlySQLTransactionError) as caught:
            await conn.execute("CREATE TABLE refused (id int)")
    finally:
        await conn.close()

    assert caught.value.sqlstate == "25006"


@pytest.mark.timeout(15)
async def test_a_paused_primary_answers_nothing_until_resumed(pair: PgPair) -> None:
    pair.primary.pause()
    try:
        with pytest.raises(TimeoutError):
            await asyncpg.connect(pair.primary.dsn, timeout=0.5)
    finally:
        pair.primary.resume()

    assert await _fetch(pair.primary.dsn, "SELECT 1") == [(1,)]


@pytest.mark.timeout(10)
async def test_restart_alone_refuses_a_running_node(pair: PgPair) -> None:
    with pytest.raises(PgClusterError, match=r"^standby\.postgres is still running$"):
        await pair.restart_alone(pair.standby)


@pytest.mark.timeout(45)
async def test_failover_then_reading_the_old_primary_alone(workdir: Path) -> None:
    # The standby streams through a relay, as the simulator's fault proxy would sit there.
    primary_port = free_port()
    relay = Relay(primary_port)
    relay_port = await relay.start()
    fresh = await PgPair.create(
        workdir, replication_port=relay_port, primary_port=primary_port, names=("us", "eu")
    )
    try:
        receiver = await _fetch(
            fresh.standby.dsn, "SELECT sender_host, sender_port FROM pg_stat_wal_receiver"
        )
        relayed = relay.connections
        await _write_rows(fresh.primary.dsn, "beats")
        await _wait_rows(fresh.standby.dsn, "beats", ROWS)

        # The primary dies with all its workers; the standby is promoted and takes writes.
        old_port = fresh.primary.port
        fresh.primary.kill()
        left_after_kill = live_processes_in(fresh.primary.data_dir)
        promoted = await _fetch(fresh.standby.dsn, "SELECT pg_promote(true, 30)")
        await _fetch(fresh.standby.dsn, "INSERT INTO beats VALUES (4, 'after')")

        # The old primary's data directory, alone on a new port.
        await fresh.restart_alone(fresh.primary)
        old_rows = await _fetch(fresh.primary.dsn, "SELECT id, v FROM beats ORDER BY id")
        old_recovery = await _fetch(fresh.primary.dsn, "SELECT pg_is_in_recovery()")
        old_receivers = await _fetch(fresh.primary.dsn, "SELECT count(*) FROM pg_stat_wal_receiver")
        new_rows = await _fetch(fresh.standby.dsn, "SELECT id, v FROM beats ORDER BY id")
    finally:
        await fresh.stop()
        await relay.close()

    assert receiver == [("127.0.0.1", relay_port)]
    assert relayed == 1
    assert left_after_kill == []
    assert promoted == [(True,)]
    assert fresh.primary.port not in (old_port, fresh.standby.port)
    assert old_rows == ROWS
    assert old_recovery == [(False,)]
    assert old_receivers == [(0,)]
    assert new_rows == [*ROWS, (4, "after")]
    assert live_processes_in(workdir) == []


_HARNESS = """
import asyncio, json, sys, time
from pathlib import Path
from drdrill.sim.pgcluster import PgPair

async def main():
    pair = await PgPair.create(Path(sys.argv[1]))
    print(json.dumps([node.process.pid for node in pair.nodes]), flush=True)

asyncio.run(main())
time.sleep(600)
"""


@pytest.mark.timeout(30)
def test_no_postgres_survives_a_harness_killed_with_sigkill(workdir: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(drdrill.__file__).parents[1])}
    harness = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(_HARNESS), str(workdir)],
        stdout=subprocess.PIPE,
        env=env,
    )
    assert harness.stdout is not None
    postmasters = json.loads(harness.stdout.readline())
    running_before = live_processes_in(workdir)

    harness.send_signal(signal.SIGKILL)
    harness.wait()
    harness.stdout.close()
    deadline = time.monotonic() + 10
    while live_processes_in(workdir) and time.monotonic() < deadline:
        time.sleep(0.05)

    assert set(postmasters) <= set(running_before)
    assert live_processes_in(workdir) == []


def test_a_missing_bin_dir_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRDRILL_PG_BIN", "/nonexistent/bin")

    with pytest.raises(PgBinariesNotFound) as caught:
        find_pg_bin()

    assert str(caught.value) == (
        "no PostgreSQL binaries: looked for postgres, initdb, pg_basebackup in "
        "/nonexistent/bin (from DRDRILL_PG_BIN=/nonexistent/bin); missing or not executable: "
        "postgres, initdb, pg_basebackup"
    )


def test_the_pgserver_binaries_are_found(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DRDRILL_PG_BIN", raising=False)

    assert find_pg_bin().parts[-3:] == ("pgserver", "pginstall", "bin")


def test_an_unreachable_workdir_is_named(workdir: Path) -> None:
    owner = (65534, 65534)
    private = workdir / "private"
    private.mkdir(mode=0o700)

    with pytest.raises(ProcessStartError) as caught:
        check_reachable(private / "pg", owner)

    assert str(caught.value) == (
        f"user 'nobody' (uid 65534) cannot traverse {private} (mode 0700); give it o+x or "
        "choose a workdir below a directory it can reach"
    )
