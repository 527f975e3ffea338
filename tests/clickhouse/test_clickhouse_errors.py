"""The rows of the insert translation table that no local server can produce on demand, on the
exceptions clickhouse-connect raises for them (built as its HTTP backend builds them)."""

from __future__ import annotations

import aiohttp
import pytest
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError, ProgrammingError

from drdrill.probes.base import ErrorKind, OpResult, Outcome
from drdrill.probes.clickhouse_errors import (
    translate_connect_error,
    translate_insert_error,
    translate_read_error,
)


def _network_error(cause: BaseException) -> OperationalError:
    """What the async client raises for a transport failure: OperationalError from it."""
    try:
        raise OperationalError(f"Network Error: {cause}") from cause
    except OperationalError as exc:
        return exc


def _server_error(code: int | None, status: int = 500) -> DatabaseError:
    text = f"Received ClickHouse exception, code: {code}" if code else f"HTTP status {status}"
    return DatabaseError(text, code=code)


@pytest.mark.parametrize(("exc", "outcome", "kind"), [
    (_server_error(319), Outcome.INFO, ErrorKind.ERROR),  # UNKNOWN_STATUS_OF_INSERT
    (_server_error(159), Outcome.INFO, ErrorKind.ERROR),  # wait_for_async_insert timed out
    (_server_error(999), Outcome.INFO, ErrorKind.ERROR),  # KEEPER_EXCEPTION
    (_server_error(242), Outcome.FAIL, ErrorKind.READ_ONLY),  # TABLE_IS_READ_ONLY
    (_server_error(285), Outcome.FAIL, ErrorKind.REJECTED),  # TOO_FEW_LIVE_REPLICAS
    (_server_error(None, 502), Outcome.INFO, ErrorKind.ERROR),  # a proxy's answer
    (ProgrammingError("Session not initialized"), Outcome.FAIL, ErrorKind.ERROR),
    (_network_error(aiohttp.ServerDisconnectedError()), Outcome.INFO, ErrorKind.CONN_LOST),
    (_network_error(aiohttp.SocketTimeoutError("read")), Outcome.INFO, ErrorKind.TIMEOUT),
    (_network_error(aiohttp.ConnectionTimeoutError("connect")), Outcome.FAIL,
     ErrorKind.TIMEOUT),
])
def test_insert_errors_map_to_outcomes(exc: Exception, outcome: Outcome, kind: ErrorKind) -> None:
    result = translate_insert_error(exc)

    assert (result.outcome, result.error) == (outcome, kind)
    assert result.detail == str(exc)


def test_nothing_is_unknown_while_connecting() -> None:
    lost = translate_connect_error(_network_error(aiohttp.ServerDisconnectedError()))
    refused = translate_connect_error(_server_error(516))  # AUTHENTICATION_FAILED

    assert (lost.outcome, lost.error) == (Outcome.FAIL, ErrorKind.CONN_LOST)
    assert (refused.outcome, refused.error) == (Outcome.FAIL, ErrorKind.REJECTED)


def test_a_read_never_is_unknown() -> None:
    result = translate_read_error(_server_error(319))

    assert result == OpResult.fail(ErrorKind.ERROR, str(_server_error(319)))
