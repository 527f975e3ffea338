"""ClickHouse servers for the ClickHouse tests: the chdb endpoint always, and a real
`clickhouse server` too when the machine has the binary (CLICKHOUSE_BIN or PATH)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import clickhouse_connect
import pytest
import pytest_asyncio
from ch_servers import BACKENDS, make_workdir, start_node
from clickhouse_connect.driver.asyncclient import AsyncClient

from drdrill.sim.chnode import ChNode
from drdrill.sim.procs import live_processes


@pytest.fixture
def workdir() -> Iterator[Path]:
    path = make_workdir()
    yield path
    shutil.rmtree(path)


@pytest_asyncio.fixture(scope="module", params=BACKENDS, ids=lambda b: b.kind)
async def node(request: pytest.FixtureRequest) -> AsyncIterator[ChNode]:
    """One healthy server shared by the tests of a module that leave it healthy."""
    path = make_workdir()
    started = await start_node(path, request.param)
    yield started
    await started.stop()
    assert [p.name for p in live_processes() if p.name.endswith(".clickhouse")] == []
    shutil.rmtree(path)


@pytest_asyncio.fixture
async def client(node: ChNode) -> AsyncIterator[AsyncClient]:
    """clickhouse-connect's async client of `node`, as an application would make it."""
    made = await clickhouse_connect.get_async_client(host="127.0.0.1", port=node.port)
    yield made
    await made.close()
