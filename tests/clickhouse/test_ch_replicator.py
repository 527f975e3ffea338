"""The simulator's ClickHouse replication between two real chdb endpoints: rows reach the
secondary only once they are `lag` old, duplicates stay duplicates, and nothing arrives from a
primary that died or after the replication stopped."""

from __future__ import annotations

import asyncio
from pathlib import Path

import clickhouse_connect
import pytest
from ch_servers import start_node
from clickhouse_connect.driver.asyncclient import AsyncClient

from drdrill.sim.ch_replicator import Replicator
from drdrill.sim.chnode import Backend, ChNode

pytestmark = pytest.mark.timeout(60)

TABLE = "rep"


async def _pair(workdir: Path) -> tuple[ChNode, ChNode, AsyncClient, AsyncClient]:
    primary, secondary = await asyncio.gather(
        start_node(workdir, Backend("chdb"), "primary"),
        start_node(workdir, Backend("chdb"), "secondary"),
    )
    source = await clickhouse_connect.get_async_client(host="127.0.0.1", port=primary.port)
    dest = await clickhouse_connect.get_async_client(host="127.0.0.1", port=secondary.port)
    await source.command(f"CREATE TABLE {TABLE} (seq Int64, v String) ENGINE = MergeTree"
                         " ORDER BY seq")
    return primary, secondary, source, dest


async def _seqs(client: AsyncClient) -> list[int]:
    result = await client.query(f"SELECT seq FROM {TABLE} ORDER BY seq")
    return [row[0] for row in result.result_rows]


async def _insert(client: AsyncClient, *seqs: int) -> None:
    for seq in seqs:
        await client.command(f"INSERT INTO {TABLE} VALUES ({seq}, 'x')")


async def test_rows_arrive_once_they_are_lag_old(workdir: Path) -> None:
    primary, secondary, source, dest = await _pair(workdir)
    replicator = Replicator(("127.0.0.1", primary.port), ("127.0.0.1", secondary.port),
                            "default", TABLE, lag_s=1.0)
    await replicator.start()

    await _insert(source, 0, 1, 1)  # seq 1 twice: a duplicate stays a duplicate
    await asyncio.sleep(0.4)
    early = await _seqs(dest)  # the table exists at once, its rows not yet
    await asyncio.sleep(1.4)
    ripe = await _seqs(dest)

    await replicator.stop()
    await _insert(source, 2)
    await asyncio.sleep(0.5)
    after_stop = await _seqs(dest)
    for client in (source, dest):
        await client.close()
    await asyncio.gather(primary.stop(), secondary.stop())

    assert early == []
    assert ripe == [0, 1, 1]
    assert after_stop == [0, 1, 1]
    assert replicator.copied == 3


async def test_nothing_arrives_from_a_dead_primary(workdir: Path) -> None:
    primary, secondary, source, dest = await _pair(workdir)
    replicator = Replicator(("127.0.0.1", primary.port), ("127.0.0.1", secondary.port),
                            "default", TABLE, lag_s=0.5)
    await replicator.start()
    await _insert(source, 0, 1)
    await asyncio.sleep(0.2)  # seen by the replication, still inside the lag

    primary.kill()
    await asyncio.sleep(1.0)
    held = await _seqs(dest)
    await replicator.stop()
    for client in (source, dest):
        await client.close()
    await secondary.stop()

    assert held == []
    assert replicator.copied == 0
