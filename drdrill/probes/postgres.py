"""PostgreSQL probes (asyncpg): heartbeat writes on the primary, replica position on a standby.

Why a write probe reconnects after any failure: after a timeout or a lost connection the
session's state is unknown (a half-sent query, a transaction the server may still be
aborting), and after a failover the old connection points at a dead or demoted server.
A fresh connection per failure makes each op's outcome depend only on the target's state.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import asyncpg
import numpy as np

from drdrill.errors import TargetError
from drdrill.probes.base import ErrorKind, FinalRead, OpResult, Probe, WriteProbe

logger = logging.getLogger(__name__)

# Errors raised while connecting: nothing was sent, so the op certainly did not take effect.
_CONNECT_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)
# Errors raised by an op on an open connection; `translate_execute_error` says which is which.
_EXECUTE_ERRORS = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    OSError,
)


def create_table_sql(table: str) -> str:
    """DDL of the heartbeat table; `table` is validated by the drill file's schema."""
    return (
        f"CREATE TABLE IF NOT EXISTS {table} ("
        " run_id text NOT NULL, probe text NOT NULL, seq bigint NOT NULL,"
        " sent_at_ns bigint NOT NULL, sent_at timestamptz NOT NULL);"
        f" CREATE INDEX IF NOT EXISTS {table}_run ON {table} (run_id, probe, seq)"
    )


def translate_execute_error(exc: BaseException) -> OpResult:
    """Map an exception raised while a write was in flight to an outcome.

    | exception | outcome | why |
    |---|---|---|
    | ReadOnlySQLTransactionError (25006) | fail | a standby or demoted server refused it |
    | other PostgresError | fail | the server answered with an error: not committed |
    | ConnectionDoesNotExistError, OSError | info | lost mid-op: it may have committed |
    | InterfaceError | info | the connection broke under us |
    | InternalClientError | fail | asyncpg refused to start the op on a connection left in a
      bad state by its loss; raised before anything is written |
    """
    if isinstance(exc, asyncpg.InternalClientError):
        return OpResult.fail(ErrorKind.CONN_LOST, str(exc))
    if isinstance(exc, asyncpg.ReadOnlySQLTransactionError):
        return OpResult.fail(ErrorKind.READ_ONLY, str(exc))
    if isinstance(exc, asyncpg.ConnectionDoesNotExistError | OSError | asyncpg.InterfaceError):
        return OpResult.info(ErrorKind.CONN_LOST, str(exc))
    if isinstance(exc, asyncpg.PostgresError):
        return OpResult.fail(ErrorKind.REJECTED, f"{exc.sqlstate}: {exc}")
    return OpResult.info(ErrorKind.ERROR, repr(exc))


def translate_connect_error(exc: BaseException) -> OpResult:
    """Map a failure to connect to an outcome: always `fail`, since nothing was sent."""
    if isinstance(exc, TimeoutError):
        return OpResult.fail(ErrorKind.TIMEOUT, "connect timed out")
    if isinstance(exc, ConnectionRefusedError):
        return OpResult.fail(ErrorKind.REFUSED, str(exc))
    return OpResult.fail(ErrorKind.ERROR, repr(exc))


class _PostgresProbe(Probe):
    """Keeps one connection to the route's current target, dropped after any failure."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._conn: asyncpg.Connection | None = None
        self._conn_version = -1

    async def _connection(self) -> asyncpg.Connection:
        """The live connection to the current target, (re)connecting when needed."""
        if self._conn is not None and (
            self._conn.is_closed() or self._conn_version != self.route.version
        ):
            await self._drop()

        if self._conn is None:
            target = self.route.target
            self._conn = await asyncpg.connect(
                target.dsn, timeout=target.connect_timeout_ms / 1000
            )
            self._conn_version = self.route.version
        return self._conn

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.terminate()

    async def on_timeout(self) -> None:
        await self._drop()

    async def close(self) -> None:
        await self._drop()


class PostgresWriteProbe(_PostgresProbe, WriteProbe):
    """Inserts one heartbeat per op; `ok` only when the insert was committed and acknowledged."""

    kind = "postgres.write"
    store_kind = "postgres"
    replication = "streaming"

    async def open(self) -> None:
        """Create the heartbeat table on the current target if it is missing."""
        conn = await self._connection()
        await conn.execute(create_table_sql(self.route.target.table))
        logger.info("heartbeat table ready probe=%s target=%s", self.name, self.route.name)

    async def op(self, seq: int) -> OpResult:
        try:
            conn = await self._connection()
        except _CONNECT_ERRORS as exc:
            await self._drop()
            return translate_connect_error(exc)

        try:
            await conn.execute(
                f"INSERT INTO {self.route.target.table} (run_id, probe, seq, sent_at_ns, sent_at)"
                " VALUES ($1, $2, $3, $4, now())",
                self.run_id,
                self.name,
                seq,
                time.monotonic_ns(),
            )
        except _EXECUTE_ERRORS as exc:
            await self._drop()
            return translate_execute_error(exc)
        return OpResult.ok()

    async def final_read(self) -> FinalRead:
        """Every heartbeat seq of this run and probe on the current target, duplicates kept."""
        target = self.route.target
        try:
            conn = await asyncpg.connect(target.dsn, timeout=target.connect_timeout_ms / 1000)
        except _CONNECT_ERRORS as exc:
            raise TargetError(
                f"cannot connect to {self.route.name} for the final read: {exc}"
            ) from exc

        try:
            rows = await conn.fetch(
                f"SELECT seq FROM {target.table} WHERE run_id = $1 AND probe = $2 ORDER BY seq",
                self.run_id,
                self.name,
            )
        except (asyncpg.PostgresError, OSError) as exc:
            raise TargetError(f"final read on {self.route.name} failed: {exc}") from exc
        finally:
            await conn.close()
        return FinalRead(np.array([r[0] for r in rows], dtype=np.int64), self.route.name)


class PostgresReplicaProbe(_PostgresProbe):
    """Samples the highest heartbeat seq of the watched write probe that a standby holds."""

    kind = "postgres.replica"

    async def op(self, seq: int) -> OpResult:
        try:
            conn = await self._connection()
        except _CONNECT_ERRORS as exc:
            await self._drop()
            return translate_connect_error(exc)

        try:
            highest = await conn.fetchval(
                f"SELECT max(seq) FROM {self.route.target.table}"
                " WHERE run_id = $1 AND probe = $2",
                self.run_id,
                self.spec.watches,  # type: ignore[union-attr]
            )
        except asyncpg.UndefinedTableError:
            return OpResult.ok(None)  # the table has not replicated yet: it holds nothing
        except _EXECUTE_ERRORS as exc:
            await self._drop()
            result = translate_execute_error(exc)
            return OpResult.fail(result.error or ErrorKind.ERROR, result.detail)
        return OpResult.ok(None if highest is None else int(highest))

