"""Simulated asynchronous replication of one ClickHouse table, with a lag the scenario sets.

The chdb endpoints are two independent engines with no Keeper between them, so the simulator
replicates for them: every `poll_s` it reads the whole table on the primary, notes the first
instant it saw each row (on the harness's monotonic clock), and copies to the secondary every
row it has seen for at least `lag_s`. A row is copied only from a read of the primary made in
the same cycle, the way a replica fetches a part from the source: once the primary is dead,
nothing more arrives, and what was still inside the lag is lost.

Rows are compared as whole rows (their JSONEachRow text), counted as a multiset, so that a
heartbeat present twice on the primary is copied twice. The table's DDL is copied at once,
as a ReplicatedMergeTree replica would have the table before any part.

Reading the whole table per cycle is fine for the simulator's few thousand heartbeats; it is
not a replication design for anything bigger.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, defaultdict

import clickhouse_connect
from clickhouse_connect.driver.asyncclient import AsyncClient
from clickhouse_connect.driver.binding import quote_identifier
from clickhouse_connect.driver.exceptions import ClickHouseError

logger = logging.getLogger(__name__)


class Replicator:
    """Copies `database.table` from `source` to `dest` (host, port pairs), `lag_s` behind."""

    def __init__(
        self,
        source: tuple[str, int],
        dest: tuple[str, int],
        database: str,
        table: str,
        lag_s: float,
        poll_s: float = 0.1,
    ) -> None:
        self.source = source
        self.dest = dest
        self.table = f"{quote_identifier(database)}.{quote_identifier(table)}"
        self.lag_s = lag_s
        self.poll_s = poll_s
        self.copied = 0
        self._first_seen: dict[str, list[float]] = defaultdict(list)
        self._shipped: Counter[str] = Counter()
        self._schema_copied = False
        self._task: asyncio.Task[None] | None = None
        self._clients: list[AsyncClient] = []

    async def start(self) -> None:
        """Connect to both servers and start copying in the background."""
        source = await _client(self.source)
        dest = await _client(self.dest)
        self._clients = [source, dest]
        self._task = asyncio.create_task(self._run(source, dest), name="ch-replicator")
        logger.info("replication started table=%s lag_s=%s", self.table, self.lag_s)

    async def stop(self) -> None:
        """Stop copying (a copy in flight is abandoned) and close the connections; safe to
        call twice."""
        if self._task is None and not self._clients:
            return
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        for client in self._clients:
            await client.close()
        self._clients = []
        logger.info("replication stopped table=%s copied=%d", self.table, self.copied)

    async def _run(self, source: AsyncClient, dest: AsyncClient) -> None:
        while True:
            try:
                await self._cycle(source, dest)
            except ClickHouseError as exc:
                # The primary is dead or the table not created yet: nothing can be fetched.
                logger.debug("replication cycle skipped table=%s error=%s", self.table, exc)
            await asyncio.sleep(self.poll_s)

    async def _cycle(self, source: AsyncClient, dest: AsyncClient) -> None:
        # 1. What the primary holds now.
        body = await source.raw_query(f"SELECT * FROM {self.table}", fmt="JSONEachRow")
        if not self._schema_copied:
            await self._copy_schema(source, dest)

        # 2. Rows not seen before are stamped with the instant they were first seen.
        now = time.monotonic()
        present = Counter(body.decode().splitlines())
        for row, count in present.items():
            seen = self._first_seen[row]
            seen.extend([now] * (count - len(seen)))

        # 3. Rows seen at least lag_s ago and not copied yet go to the secondary.
        due = [
            row
            for row, count in present.items()
            for _ in range(self._due_count(row, count, now))
        ]
        if not due:
            return

        await dest.command(f"INSERT INTO {self.table} FORMAT JSONEachRow", data="\n".join(due))
        self._shipped.update(due)
        self.copied += len(due)

    def _due_count(self, row: str, present: int, now: float) -> int:
        ripe = sum(1 for t in self._first_seen[row][:present] if now - t >= self.lag_s)
        return max(0, ripe - self._shipped[row])

    async def _copy_schema(self, source: AsyncClient, dest: AsyncClient) -> None:
        ddl = (await source.raw_query(f"SHOW CREATE TABLE {self.table}", fmt="TSVRaw")).decode()
        await dest.command(ddl.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS", 1))
        self._schema_copied = True
        logger.info("replication schema copied table=%s", self.table)


async def _client(address: tuple[str, int]) -> AsyncClient:
    host, port = address
    return await clickhouse_connect.get_async_client(
        host=host, port=port, autogenerate_session_id=False, connect_timeout=2,
        send_receive_timeout=10,
    )
