"""The ClickHouse probes through clickhouse-connect's real async client over real HTTP: inserts,
the final read, the replica position, following a switch, and every way an insert fails
mapped to its outcome (a server killed, hung, lost mid-request, refusing the SQL)."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any

import clickhouse_connect
import numpy as np
import pytest
from ch_servers import BACKENDS, start_node
from clickhouse_connect.driver.asyncclient import AsyncClient

from drdrill.drills.schema import ClickHouseReplicaProbe as ReplicaSpec
from drdrill.drills.schema import ClickHouseTarget
from drdrill.drills.schema import ClickHouseWriteProbe as WriteSpec
from drdrill.probes.base import ErrorKind, OpResult, Outcome, Route
from drdrill.probes.clickhouse import (
    ClickHouseReplicaProbe,
    ClickHouseWriteProbe,
    create_table_sql,
)
from drdrill.probes.ticker import OpRecord, Ticker
from drdrill.sim.chnode import ChNode
from drdrill.sim.procs import free_port

pytestmark = pytest.mark.timeout(90)

_tables = itertools.count()


def _target(port: int, table: str = "drdrill_heartbeat", **fields: Any) -> ClickHouseTarget:
    return ClickHouseTarget(url=f"http://127.0.0.1:{port}", table=table, **fields)


def _writer(target: ClickHouseTarget, run_id: str, timeout_ms: int = 1000,
            name: str = "w") -> ClickHouseWriteProbe:
    spec = WriteSpec(name=name, kind="clickhouse.write", target="a.clickhouse",
                     timeout_ms=timeout_ms)
    return ClickHouseWriteProbe(spec, Route("a.clickhouse", target), run_id)


def _replica(target: ClickHouseTarget, run_id: str, watches: str) -> ClickHouseReplicaProbe:
    spec = ReplicaSpec(name="r", kind="clickhouse.replica", target="b.clickhouse",
                       watches=watches)
    return ClickHouseReplicaProbe(spec, Route("b.clickhouse", target), run_id)


def _table() -> str:
    return f"hb{next(_tables)}"


async def test_writes_are_ok_and_read_back_in_order(node: ChNode) -> None:
    probe = _writer(_target(node.port), "run-ok")
    await probe.open()

    results = [await probe.op(seq) for seq in range(5)]
    read = await probe.final_read()
    await probe.close()

    assert results == [OpResult.ok()] * 5
    assert read.seqs.tolist() == [0, 1, 2, 3, 4]
    assert read.target == "a.clickhouse"


async def test_the_insert_settings_go_with_each_insert(node: ChNode) -> None:
    settings = {"async_insert": 1, "wait_for_async_insert": 1, "insert_quorum": 1}
    probe = _writer(_target(node.port, insert_settings=settings), "run-settings")
    await probe.open()

    result = await probe.op(0)
    read = await probe.final_read()
    await probe.close()

    assert result == OpResult.ok()
    assert read.seqs.tolist() == [0]


async def test_duplicates_are_kept_by_the_final_read(node: ChNode) -> None:
    probe = _writer(_target(node.port), "run-dup")
    await probe.open()
    for seq in (0, 1, 1, 2):
        await probe.op(seq)

    read = await probe.final_read()
    await probe.close()

    assert np.array_equal(read.seqs, [0, 1, 1, 2])


async def test_the_table_is_a_merge_tree_or_replicated_on_a_cluster() -> None:
    plain = create_table_sql(_target(1, table="hb"))
    clustered = create_table_sql(_target(1, table="hb", database="app", cluster="dr"))

    assert plain == (
        "CREATE TABLE IF NOT EXISTS `default`.`hb` (run_id String, probe String, seq Int64,"
        " sent_at_ns Int64, sent_at DateTime64(3) DEFAULT now64(3)) ENGINE = MergeTree"
        " ORDER BY (run_id, probe, seq)"
    )
    assert clustered == (
        "CREATE TABLE IF NOT EXISTS `app`.`hb` ON CLUSTER `dr` (run_id String, probe String,"
        " seq Int64, sent_at_ns Int64, sent_at DateTime64(3) DEFAULT now64(3))"
        " ENGINE = ReplicatedMergeTree ORDER BY (run_id, probe, seq)"
    )


def test_the_store_says_how_it_replicates() -> None:
    assert _writer(_target(1, replication_note="simulated"), "r").replication == "simulated"
    assert _writer(_target(1, cluster="dr"), "r").replication == "ReplicatedMergeTree on dr"
    assert _writer(_target(1), "r").replication == "not declared"


async def test_nothing_listening_is_a_refused_failure() -> None:
    probe = _writer(_target(free_port()), "run-down")

    result = await probe.op(0)

    assert (result.outcome, result.error) == (Outcome.FAIL, ErrorKind.REFUSED)


async def test_a_sql_error_is_a_rejected_failure(node: ChNode, client: AsyncClient) -> None:
    table = _table()
    probe = _writer(_target(node.port, table=table), "run-sql")
    await probe.open()
    await client.command(f"DROP TABLE {table}")  # the insert now names a missing table

    result = await probe.op(0)
    await probe.close()

    assert (result.outcome, result.error) == (Outcome.FAIL, ErrorKind.REJECTED)
    assert "code: 60" in (result.detail or "")


async def test_a_read_only_refusal_is_a_read_only_failure(node: ChNode) -> None:
    probe = _writer(_target(node.port, insert_settings={"readonly": 1}), "run-ro")
    await probe.open()

    result = await probe.op(0)
    await probe.close()

    assert (result.outcome, result.error) == (Outcome.FAIL, ErrorKind.READ_ONLY)


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.kind)
async def test_a_killed_server_fails_the_next_insert(workdir: Path, backend: Any) -> None:
    server = await start_node(workdir, backend)
    probe = _writer(_target(server.port), "run-kill")
    await probe.open()
    before = await probe.op(0)

    server.kill()
    await asyncio.sleep(0.1)  # the next tick: the client has seen its pooled connection close
    after = await probe.op(1)
    await probe.close()

    assert before == OpResult.ok()
    assert (after.outcome, after.error) == (Outcome.FAIL, ErrorKind.REFUSED)


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.kind)
async def test_a_hung_server_makes_the_insert_unknown(workdir: Path, backend: Any) -> None:
    server = await start_node(workdir, backend)
    ticked = _writer(_target(server.port), "run-hang", timeout_ms=300)
    direct = _writer(_target(server.port), "run-hang", timeout_ms=300)
    await ticked.open()
    await direct.open()
    records: list[OpRecord] = []
    stop = asyncio.Event()

    def on_op(record: OpRecord) -> None:
        records.append(record)
        stop.set()

    server.pause()
    try:
        # The ticker applies the op timeout and records the timeout outcome of a write.
        ticker = Ticker(ticked, 100_000_000, 0.3, on_op, lambda *a: None)
        await ticker.run(ticker.now(), stop)
        # Without the ticker, the client's own read timeout says the same.
        hung = await direct.op(1)
        # A new connection cannot even start: nothing of this op was sent.
        reconnect = await direct.op(2)
    finally:
        server.resume()
    recovered = await ticked.op(3)
    read = await ticked.final_read()
    await ticked.close()
    await direct.close()
    await server.stop()

    assert [(r.result.outcome, r.result.error) for r in records] == [
        (Outcome.INFO, ErrorKind.TIMEOUT)
    ]
    assert (hung.outcome, hung.error) == (Outcome.INFO, ErrorKind.TIMEOUT)
    assert (reconnect.outcome, reconnect.error) == (Outcome.FAIL, ErrorKind.TIMEOUT)
    assert recovered == OpResult.ok()
    # Both unknown inserts had been sent, and landed once the server woke up.
    assert read.seqs.tolist() == [0, 1, 3]


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.kind)
async def test_a_connection_lost_after_sending_is_unknown(workdir: Path, backend: Any) -> None:
    server = await start_node(workdir, backend)
    probe = _writer(_target(server.port), "run-lost", timeout_ms=5000)
    await probe.open()

    server.pause()
    in_flight = asyncio.create_task(probe.op(0))
    await asyncio.sleep(0.3)  # the request is in the server's socket buffer
    server.kill()
    result = await in_flight
    await probe.close()

    assert (result.outcome, result.error) == (Outcome.INFO, ErrorKind.CONN_LOST)


async def test_the_probe_follows_a_switch_and_creates_its_table(node: ChNode) -> None:
    table = _table()
    probe = _writer(_target(free_port(), table=table), "run-switch")
    assert (await probe.op(0)).outcome is Outcome.FAIL

    probe.route.switch("b.clickhouse", _target(node.port, table=table))
    result = await probe.op(1)
    read = await probe.final_read()
    await probe.close()

    assert result == OpResult.ok()
    assert read.seqs.tolist() == [1]
    assert read.target == "b.clickhouse"


async def _one_read(target: ClickHouseTarget, run_id: str, watches: str) -> OpResult:
    replica = _replica(target, run_id, watches)
    result = await replica.op(0)
    await replica.close()
    return result


async def test_replica_probe_reads_the_highest_seq_and_count(node: ChNode) -> None:
    target = _target(node.port, table=_table())
    missing = await _one_read(target, "run-lag", "w")

    writer = _writer(target, "run-lag", name="w")
    await writer.open()
    for seq in (0, 1, 2, 5, 6):
        await writer.op(seq)
    await writer.close()
    seen = await _one_read(target, "run-lag", "w")
    other = await _one_read(target, "run-lag", "nobody")

    assert missing == OpResult(Outcome.OK, None, None)  # no table yet: it holds nothing
    assert seen == OpResult(Outcome.OK, None, 6, "rows=5")
    assert other == OpResult(Outcome.OK, None, None, "rows=0")


async def test_replica_probe_fails_when_nothing_listens() -> None:
    result = await _one_read(_target(free_port()), "run-r", "w")

    assert (result.outcome, result.error) == (Outcome.FAIL, ErrorKind.REFUSED)


async def test_clickhouse_connect_replays_insert_but_not_a_command(node: ChNode) -> None:
    # Why the write probe uses command(): the client marks insert() retryable and command()
    # with an INSERT not, so only the command is one request per op.
    client = await clickhouse_connect.get_async_client(host="127.0.0.1", port=node.port)
    replays: list[bool] = []
    original = client._backend.request

    async def record(*args: Any, **kwargs: Any) -> Any:
        replays.append(bool(kwargs.get("retryable")))
        return await original(*args, **kwargs)

    table = _table()
    await client.command(create_table_sql(_target(node.port, table=table)))
    client._backend.request = record  # type: ignore[method-assign]
    await client.insert(table, [["r", "p", 0, 0]],
                        column_names=["run_id", "probe", "seq", "sent_at_ns"],
                        column_type_names=["String", "String", "Int64", "Int64"])
    await client.command(f"INSERT INTO {table} (run_id, probe, seq, sent_at_ns) FORMAT"
                         " JSONEachRow", data='{"run_id":"r","probe":"p","seq":1,"sent_at_ns":0}')
    await client.close()

    assert replays == [True, False]
