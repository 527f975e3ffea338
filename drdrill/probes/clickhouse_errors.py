"""What clickhouse-connect's async client raises, translated into op outcomes.

How the client raises (clickhouse-connect 1.x, `driver/_backend/http_async.py`): every
transport failure becomes `OperationalError("Network Error: ...")` raised *from* the aiohttp
exception, and every answer of the server with an error becomes `DatabaseError` (or
`OperationalError` after retries) carrying the ClickHouse code from the
`X-ClickHouse-Exception-Code` header in `.code`, with no aiohttp cause. `ProgrammingError` is
the client refusing a call before sending anything. So the aiohttp exception in `__cause__`
says *when* a request failed, and `.code` says what the server decided.
"""

from __future__ import annotations

import aiohttp
from clickhouse_connect.driver.exceptions import DatabaseError, ProgrammingError

from drdrill.probes.base import ErrorKind, OpResult

# Server codes after which an INSERT may still have been written, or will be (a queue that
# flushes later): TIMEOUT_EXCEEDED (wait_for_async_insert_timeout), SOCKET_TIMEOUT and
# NETWORK_ERROR (a distributed or quorum insert lost a peer mid-way), UNKNOWN_STATUS_OF_INSERT
# (quorum or Keeper lost after the part was written), KEEPER_EXCEPTION (idem).
UNKNOWN_OUTCOME_CODES = frozenset({159, 209, 210, 319, 999})
# READONLY and TABLE_IS_READ_ONLY: a replica that does not take writes.
READ_ONLY_CODES = frozenset({164, 242})
UNKNOWN_TABLE = 60


def transport_cause(exc: BaseException) -> BaseException | None:
    """The aiohttp (or timeout) exception a client error was raised from, if any."""
    cause = exc.__cause__
    while cause is not None:
        if isinstance(cause, aiohttp.ClientError | TimeoutError):
            return cause
        cause = cause.__cause__
    return None


def translate_connect_error(exc: BaseException) -> OpResult:
    """A failure while connecting (the client's start-up queries, the table's DDL): `fail`.

    Nothing of the op was sent yet, so it certainly did not take effect; the kind says why.
    """
    cause = transport_cause(exc)
    if cause is not None:
        return OpResult.fail(_transport_kind(cause), str(exc))
    if isinstance(exc, DatabaseError) and exc.code is not None:
        return OpResult.fail(_code_kind(exc.code), str(exc))
    return OpResult.fail(ErrorKind.ERROR, repr(exc))


def translate_insert_error(exc: BaseException) -> OpResult:
    """Map an exception raised by an INSERT in flight to an outcome.

    | exception | outcome | why |
    |---|---|---|
    | ProgrammingError | fail, error | the client refused the call: nothing sent |
    | from aiohttp.ClientConnectorError | fail, refused/error | no connection: nothing sent |
    | from aiohttp.ConnectionTimeoutError | fail, timeout | no connection in time |
    | from aiohttp.ServerTimeoutError (reading) | info, timeout | sent, no answer |
    | from any other aiohttp error | info, conn_lost | the connection broke after sending |
    | code in UNKNOWN_OUTCOME_CODES | info, error | the server says it may be written |
    | code 164 or 242 | fail, read_only | a read-only replica refused it |
    | any other code | fail, rejected | the server refused it: not written |
    | no code | info, error | an HTTP status from something in between (a proxy), which may |
    |  |  | have forwarded the insert |
    """
    if isinstance(exc, ProgrammingError):
        return OpResult.fail(ErrorKind.ERROR, str(exc))

    cause = transport_cause(exc)
    if cause is not None:
        if _before_sending(cause):
            return OpResult.fail(_transport_kind(cause), str(exc))
        return OpResult.info(_transport_kind(cause), str(exc))

    if not isinstance(exc, DatabaseError):
        return OpResult.info(ErrorKind.ERROR, repr(exc))
    if exc.code is None or exc.code in UNKNOWN_OUTCOME_CODES:
        return OpResult.info(ErrorKind.ERROR, str(exc))
    return OpResult.fail(_code_kind(exc.code), str(exc))


def translate_read_error(exc: BaseException) -> OpResult:
    """A failed read (a replica position): always `fail`, with the kind the insert table gives."""
    result = translate_insert_error(exc)
    return OpResult.fail(result.error or ErrorKind.ERROR, result.detail)


def _before_sending(cause: BaseException) -> bool:
    """True when aiohttp failed while connecting, before any byte of the request went out."""
    connection_timeout = getattr(aiohttp, "ConnectionTimeoutError", None)
    if connection_timeout is not None and isinstance(cause, connection_timeout):
        return True
    return isinstance(cause, aiohttp.ClientConnectorError)


def _transport_kind(cause: BaseException) -> ErrorKind:
    if isinstance(cause, aiohttp.ClientConnectorError):
        refused = isinstance(cause.os_error, ConnectionRefusedError)
        return ErrorKind.REFUSED if refused else ErrorKind.ERROR
    if isinstance(cause, TimeoutError):
        return ErrorKind.TIMEOUT
    return ErrorKind.CONN_LOST


def _code_kind(code: int) -> ErrorKind:
    return ErrorKind.READ_ONLY if code in READ_ONLY_CODES else ErrorKind.REJECTED
