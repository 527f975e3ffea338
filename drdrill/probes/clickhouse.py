"""ClickHouse probes (clickhouse-connect's async client): heartbeat inserts, replica position.

Why each insert is `command("INSERT ... FORMAT JSONEachRow", data=...)` and not the client's
`insert()`: `insert()` is marked retryable, and the async client replays it once after the
server closed the connection (clickhouse-connect PRs #755, #764). If that replay is then
refused, the call fails with "cannot connect" although the first attempt may have been
written: a `fail` that should have been `info`. A command carrying an INSERT is never
replayed, so each op is exactly one HTTP request whose fate the translation table can read.

Why the probe reconnects after any failure: the connection pool may hold sockets to a dead
or demoted server, and after a failover the target is another server; a fresh client per
failure makes each op's outcome depend only on the target's state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any
from urllib.parse import urlsplit

import clickhouse_connect
import numpy as np
import orjson
from clickhouse_connect.driver.asyncclient import AsyncClient
from clickhouse_connect.driver.binding import quote_identifier
from clickhouse_connect.driver.exceptions import DatabaseError, Error

from drdrill.errors import TargetError
from drdrill.probes.base import FinalRead, OpResult, Outcome, Probe, WriteProbe
from drdrill.probes.clickhouse_errors import (
    UNKNOWN_TABLE,
    translate_connect_error,
    translate_insert_error,
    translate_read_error,
)

logger = logging.getLogger(__name__)

_CLOSE_TIMEOUT_S = 2.0
_COLUMNS = "(run_id, probe, seq, sent_at_ns)"


def qualified_table(target: Any) -> str:
    """`database`.`table` of a ClickHouseTarget, quoted."""
    return f"{quote_identifier(target.database)}.{quote_identifier(target.table)}"


def create_table_sql(target: Any) -> str:
    """DDL of the heartbeat table: ReplicatedMergeTree on the cluster when one is named.

    `sent_at` is the server's clock, shown to readers only; RPO uses `seq` (see DESIGN.md).
    """
    cluster = f" ON CLUSTER {quote_identifier(target.cluster)}" if target.cluster else ""
    engine = "ReplicatedMergeTree" if target.cluster else "MergeTree"
    return (
        f"CREATE TABLE IF NOT EXISTS {qualified_table(target)}{cluster} ("
        "run_id String, probe String, seq Int64, sent_at_ns Int64,"
        " sent_at DateTime64(3) DEFAULT now64(3))"
        f" ENGINE = {engine} ORDER BY (run_id, probe, seq)"
    )


async def connect(target: Any, op_timeout_s: float) -> AsyncClient:
    """A client of `target` (a ClickHouseTarget); raises the client's errors when it cannot
    start (it asks the server's version, timezone and settings)."""
    url = urlsplit(target.url)
    secure = url.scheme == "https"
    return await clickhouse_connect.get_async_client(
        host=url.hostname or "localhost",
        port=url.port or (8443 if secure else 8123),
        interface="https" if secure else "http",
        username=target.username,
        password=target.password,
        database=target.database,
        connect_timeout=target.connect_timeout_ms / 1000,
        send_receive_timeout=op_timeout_s,
        compress=False,  # heartbeats are a few bytes: compression only costs time
        autogenerate_session_id=False,  # a session locked by a wedged query would fail the next
    )


async def close_quietly(client: AsyncClient) -> None:
    """Close a client without waiting on a server that stopped answering."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(client.close(), _CLOSE_TIMEOUT_S)


class _ClickHouseProbe(Probe):
    """Keeps one client of the route's current target, dropped after any failure."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._client: AsyncClient | None = None
        self._client_version = -1

    async def _connected(self) -> AsyncClient:
        """The client of the current target, (re)connecting and preparing when needed."""
        if self._client is not None and self._client_version != self.route.version:
            await self._drop()

        if self._client is None:
            client = await connect(self.route.target, self.spec.timeout_ms / 1000)
            try:
                await self._prepare(client)
            except BaseException:
                await close_quietly(client)
                raise
            self._client, self._client_version = client, self.route.version
        return self._client

    async def _prepare(self, client: AsyncClient) -> None:  # noqa: B027 - optional hook
        """What a new client must do before its first op."""

    async def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await close_quietly(client)

    async def on_timeout(self) -> None:
        await self._drop()

    async def close(self) -> None:
        await self._drop()


class ClickHouseWriteProbe(_ClickHouseProbe, WriteProbe):
    """Inserts one heartbeat row per op; `ok` only when the server acknowledged the insert."""

    kind = "clickhouse.write"
    store_kind = "clickhouse"

    # A property: the note comes with the target, where the base class has one per class.
    @property
    def replication(self) -> str:  # type: ignore[override]
        """What the journal header says of this store's replication."""
        target = self.route.target
        if target.replication_note:
            return str(target.replication_note)
        return f"ReplicatedMergeTree on {target.cluster}" if target.cluster else "not declared"

    async def open(self) -> None:
        """Connect and create the heartbeat table on the current target if it is missing."""
        await self._connected()
        logger.info("heartbeat table ready probe=%s target=%s", self.name, self.route.name)

    async def _prepare(self, client: AsyncClient) -> None:
        # Every target the probe writes to gets the table: after a failover the new primary
        # may not have it (a plain MergeTree is not replicated by ClickHouse).
        await client.command(create_table_sql(self.route.target))

    async def op(self, seq: int) -> OpResult:
        try:
            client = await self._connected()
        except Error as exc:
            await self._drop()
            return translate_connect_error(exc)

        target = self.route.target
        row = orjson.dumps({"run_id": self.run_id, "probe": self.name, "seq": seq,
                            "sent_at_ns": time.monotonic_ns()})
        try:
            await client.command(
                f"INSERT INTO {qualified_table(target)} {_COLUMNS} FORMAT JSONEachRow",
                data=row.decode(),
                settings=dict(target.insert_settings) or None,
            )
        except Error as exc:
            await self._drop()
            return translate_insert_error(exc)
        return OpResult.ok()

    async def final_read(self) -> FinalRead:
        """Every heartbeat seq of this run and probe on the current target, duplicates kept."""
        target = self.route.target
        try:
            client = await connect(target, 30.0)
        except Error as exc:
            raise TargetError(
                f"cannot connect to {self.route.name} for the final read: {exc}"
            ) from exc

        try:
            result = await client.query(
                f"SELECT seq FROM {qualified_table(target)}"
                " WHERE run_id = {run_id:String} AND probe = {probe:String} ORDER BY seq",
                parameters={"run_id": self.run_id, "probe": self.name},
            )
        except Error as exc:
            raise TargetError(f"final read on {self.route.name} failed: {exc}") from exc
        finally:
            await close_quietly(client)
        seqs = [row[0] for row in result.result_rows]
        return FinalRead(np.array(seqs, dtype=np.int64), self.route.name)


class ClickHouseReplicaProbe(_ClickHouseProbe):
    """Samples the highest heartbeat seq of the watched write probe that a replica holds.

    The measure is the run's own rows, counted on the replica, not `system.replicas`:
    `absolute_delay` can read 0 while parts are still missing. The row count is kept in the
    result's detail: the journal's op record has one integer, the highest seq.
    """

    kind = "clickhouse.replica"

    async def op(self, seq: int) -> OpResult:
        try:
            client = await self._connected()
        except Error as exc:
            await self._drop()
            return translate_connect_error(exc)

        try:
            result = await client.query(
                f"SELECT max(seq), count() FROM {qualified_table(self.route.target)}"
                " WHERE run_id = {run_id:String} AND probe = {probe:String}",
                parameters={"run_id": self.run_id, "probe": self.spec.watches},  # type: ignore[union-attr]
            )
        except DatabaseError as exc:
            if exc.code == UNKNOWN_TABLE:
                return OpResult.ok(None)  # the table has not reached the replica: it holds nothing
            await self._drop()
            return translate_read_error(exc)
        except Error as exc:
            await self._drop()
            return translate_read_error(exc)

        highest, rows = result.result_rows[0]
        return OpResult(Outcome.OK, None, int(highest) if rows else None, f"rows={rows}")

