"""The simulator's ClickHouse endpoint through clickhouse-connect's real async client over real
HTTP: start-up queries, Native inserts in every compression, queries, parameters, settings per
request, and errors shaped as ClickHouse shapes them."""

from __future__ import annotations

import itertools

import aiohttp
import clickhouse_connect
import pytest
from clickhouse_connect.driver.asyncclient import AsyncClient
from clickhouse_connect.driver.exceptions import DatabaseError

from drdrill.sim.chnode import ChNode

pytestmark = pytest.mark.timeout(60)

_tables = itertools.count()
ROWS = [[1, "one", 1.5], [2, "two", 2.5], [3, "tr\tois\n", -3.25]]


async def _table(client: AsyncClient) -> str:
    name = f"t{next(_tables)}"
    await client.command(
        f"CREATE TABLE {name} (id Int64, label String, x Float64) ENGINE = MergeTree ORDER BY id"
    )
    return name


async def test_the_client_starts_against_the_endpoint(client: AsyncClient, node: ChNode) -> None:
    version = await client.command("SELECT version()")

    assert client.server_version == version
    assert str(client.server_tz) in ("UTC", "Etc/UTC")
    # The chdb endpoint sends plain Native blocks; a real server the newer block header.
    assert client.protocol_version == (0 if node.backend.binary is None else 54405)
    assert await client.ping() is True


@pytest.mark.parametrize("compress", ["lz4", "zstd", "gzip", False])
async def test_native_inserts_round_trip(node: ChNode, compress: str | bool) -> None:
    client = await clickhouse_connect.get_async_client(
        host="127.0.0.1", port=node.port, compress=compress
    )
    table = await _table(client)

    summary = await client.insert(table, ROWS, column_names=["id", "label", "x"])
    result = await client.query(f"SELECT id, label, x FROM {table} ORDER BY id")
    await client.close()

    assert summary.written_rows == 3
    assert [list(row) for row in result.result_rows] == ROWS


async def test_inserts_of_several_blocks_keep_every_row(node: ChNode) -> None:
    # A small max block makes the client send the rows as many lz4 frames in one body.
    client = await clickhouse_connect.get_async_client(host="127.0.0.1", port=node.port)
    table = await _table(client)
    rows = [[i, f"r{i}", i / 4] for i in range(5000)]

    context = await client.create_insert_context(table, ["id", "label", "x"], data=rows)
    context.block_row_count = 700
    await client.data_insert(context)
    count, total = (await client.query(f"SELECT count(), sum(id) FROM {table}")).result_rows[0]
    await client.close()

    assert (count, total) == (5000, sum(range(5000)))


async def test_server_side_parameters_are_bound(client: AsyncClient) -> None:
    result = await client.query(
        "SELECT {a:Int64} * 2, {s:String}", parameters={"a": 21, "s": "it's"}
    )

    assert result.result_rows == [(42, "it's")]


async def test_form_encoded_queries_are_read(node: ChNode) -> None:
    client = await clickhouse_connect.get_async_client(
        host="127.0.0.1", port=node.port, form_encode_query_params=True
    )
    result = await client.query("SELECT {n:UInt8} + 1", parameters={"n": 41})
    await client.close()

    assert result.result_rows == [(42,)]


async def test_settings_apply_to_their_request_only(client: AsyncClient) -> None:
    default = await client.command("SELECT value FROM system.settings WHERE name = 'max_threads'")

    during = await client.command("SELECT getSetting('max_threads')", settings={"max_threads": 3})
    after = await client.command("SELECT value FROM system.settings WHERE name = 'max_threads'")

    assert during == 3
    assert after == default


async def test_an_unknown_table_is_code_60(client: AsyncClient) -> None:
    with pytest.raises(DatabaseError) as caught:
        await client.query("SELECT * FROM no_such_table")

    assert caught.value.code == 60
    assert caught.value.name == "UNKNOWN_TABLE"


async def test_a_syntax_error_is_code_62(client: AsyncClient) -> None:
    with pytest.raises(DatabaseError) as caught:
        await client.command("SELEC 1")

    assert caught.value.code == 62
    assert caught.value.name == "SYNTAX_ERROR"


async def test_an_unknown_setting_is_code_115_and_does_not_stick(client: AsyncClient) -> None:
    with pytest.raises(DatabaseError) as caught:
        await client.command("SELECT 1", settings={"no_such_setting": 1})

    assert caught.value.code == 115
    assert await client.command("SELECT 1") == 1


async def test_error_responses_have_clickhouses_shape(node: ChNode) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(node.url, params={"query": "SELECT * FROM nope"}) as response:
            body = await response.text()
            status, code = response.status, response.headers["X-ClickHouse-Exception-Code"]

    assert (status, code) == (404, "60")
    assert body.startswith("Code: 60. DB::Exception: ")
    assert body.rstrip().endswith(")")
    assert "(UNKNOWN_TABLE) (version " in body


async def test_get_is_readonly(node: ChNode) -> None:
    async with aiohttp.ClientSession() as session:
        query = "CREATE TABLE by_get (a Int8) ENGINE = Memory"
        async with session.get(node.url, params={"query": query}) as response:
            status, code = response.status, response.headers["X-ClickHouse-Exception-Code"]
        async with session.get(f"{node.url}/ping") as ping:
            pong = await ping.text()

    assert (status, code) == (403, "164")
    assert pong == "Ok.\n"
