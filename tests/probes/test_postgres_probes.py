"""The PostgreSQL probes against a real primary and streaming standby: outcomes, final read,
following a switch."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import numpy as np
import pytest
import pytest_asyncio

from drdrill.drills.schema import PostgresReplicaProbe as ReplicaSpec
from drdrill.drills.schema import PostgresTarget
from drdrill.drills.schema import PostgresWriteProbe as WriteSpec
from drdrill.probes.base import Outcome, Route
from drdrill.probes.postgres import PostgresReplicaProbe, PostgresWriteProbe
from drdrill.sim.pgcluster import PgPair
from drdrill.sim.procs import free_port

pytestmark = pytest.mark.timeout(90)


@pytest_asyncio.fixture(scope="module")
async def pair() -> AsyncIterator[PgPair]:
    workdir = Path(tempfile.mkdtemp(prefix="drdrill-probe-"))
    workdir.chmod(0o711)
    built = await PgPair.create(workdir)
    yield built
    await built.stop()
    shutil.rmtree(workdir)


def _write_probe(dsn: str, run_id: str, name: str = "w") -> PostgresWriteProbe:
    spec = WriteSpec(name=name, kind="postgres.write", target="a.postgres")
    return PostgresWriteProbe(spec, Route("a.postgres", PostgresTarget(dsn=dsn)), run_id)


async def test_writes_are_ok_and_read_back_in_order(pair: PgPair) -> None:
    probe = _write_probe(pair.primary.dsn, "run-ok")
    await probe.open()

    results = [await probe.op(seq) for seq in range(5)]
    read = await probe.final_read()
    await probe.close()

    assert [r.outcome for r in results] == [Outcome.OK] * 5
    assert read.seqs.tolist() == [0, 1, 2, 3, 4]
    assert read.target == "a.postgres"


async def test_a_write_to_the_standby_is_a_read_only_failure(pair: PgPair) -> None:
    primary_probe = _write_probe(pair.primary.dsn, "run-ro")
    await primary_probe.open()  # the table replicates to the standby
    await primary_probe.close()
    await asyncio.sleep(0.5)
    probe = _write_probe(pair.standby.dsn, "run-ro")

    result = await probe.op(0)
    await probe.close()

    assert result.outcome is Outcome.FAIL
    assert result.error == "read_only"


async def test_nothing_listening_is_a_failure_not_unknown() -> None:
    probe = _write_probe(f"postgresql://drill@127.0.0.1:{free_port()}/drill", "run-down")

    result = await probe.op(0)

    assert result.outcome is Outcome.FAIL
    assert result.error == "refused"


async def test_the_probe_follows_a_switch_and_reconnects(pair: PgPair) -> None:
    probe = _write_probe(f"postgresql://drill@127.0.0.1:{free_port()}/drill", "run-switch")
    assert (await probe.op(0)).outcome is Outcome.FAIL

    probe.route.switch("b.postgres", PostgresTarget(dsn=pair.primary.dsn))
    await probe.open()
    result = await probe.op(1)
    read = await probe.final_read()
    await probe.close()

    assert result.outcome is Outcome.OK
    assert read.seqs.tolist() == [1]
    assert read.target == "b.postgres"


async def test_duplicates_are_kept_by_the_final_read(pair: PgPair) -> None:
    probe = _write_probe(pair.primary.dsn, "run-dup")
    await probe.open()
    for seq in (0, 1, 1, 2):
        await probe.op(seq)

    read = await probe.final_read()
    await probe.close()

    assert np.array_equal(read.seqs, [0, 1, 1, 2])


async def test_replica_probe_sees_the_highest_replicated_seq(pair: PgPair) -> None:
    writer = _write_probe(pair.primary.dsn, "run-lag", name="w")
    await writer.open()
    for seq in range(7):
        await writer.op(seq)
    await writer.close()

    spec = ReplicaSpec(name="r", kind="postgres.replica", target="b.postgres", watches="w")
    replica = PostgresReplicaProbe(spec, Route("b.postgres", PostgresTarget(dsn=pair.standby.dsn)),
                                   "run-lag")
    for _ in range(50):  # streaming replication on loopback: well under a second
        result = await replica.op(0)
        if result.value == 6:
            break
        await asyncio.sleep(0.05)
    other = PostgresReplicaProbe(
        ReplicaSpec(name="r2", kind="postgres.replica", target="b.postgres", watches="nobody"),
        Route("b.postgres", PostgresTarget(dsn=pair.standby.dsn)), "run-lag",
    )
    empty = await other.op(0)
    await replica.close()
    await other.close()

    assert result.outcome is Outcome.OK
    assert result.value == 6
    assert empty.outcome is Outcome.OK and empty.value is None


async def test_a_killed_primary_makes_the_in_flight_write_unknown_or_failed(pair: PgPair) -> None:
    # A write that hangs because the server stopped answering is `info` once it times out:
    # the ticker cancels it. Here: SIGSTOP the primary, the insert cannot complete.
    probe = _write_probe(pair.primary.dsn, "run-hang")
    await probe.open()
    pair.primary.pause()
    try:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3):
                await probe.op(0)
        await probe.on_timeout()
    finally:
        pair.primary.resume()

    assert (await probe.op(1)).outcome is Outcome.OK  # reconnected after the timeout
    await probe.close()
    conn = await asyncpg.connect(pair.primary.dsn)
    count = await conn.fetchval(
        "SELECT count(*) FROM drdrill_heartbeat WHERE run_id = 'run-hang' AND seq = 1")
    await conn.close()
    assert count == 1
