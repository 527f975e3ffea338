"""The ClickHouse engine behind the simulator's HTTP endpoint: one chdb session on a data dir.

chdb is ClickHouse's engine as a library (clickhouse-local in-process). It holds no HTTP
server, so `drdrill.sim.chdb_server` speaks the HTTP interface and hands each request here as a
`Statement`. This module runs it the way clickhouse-server would:

- settings given with a request apply to that request only. A chdb session keeps `SET` values
  for every later query, so the engine tracks what it applied and sets back to DEFAULT what
  the next request does not repeat;
- `INSERT ... FORMAT <name>` with a body streams the body into the table in that format
  (Native, what clickhouse-connect sends by default, or any other input format);
- errors keep ClickHouse's code and text (`Code: 60. DB::Exception: ... (UNKNOWN_TABLE)`).

Calls are blocking and not reentrant: the server runs them one at a time in a worker thread.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import chdb
from chdb import state as chdb_state

logger = logging.getLogger(__name__)

# ClickHouse's STD_EXCEPTION: for an engine error that carries no code of its own.
STD_EXCEPTION = 1001
READONLY = 164

# Statements that return a result set, and the only ones allowed over GET (as in ClickHouse,
# where GET implies readonly).
_RESULT_KINDS = frozenset({"SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXISTS", "EXPLAIN"})
_LEADING = re.compile(r"^(?:\s+|--[^\n]*\n|/\*.*?\*/|\()*", re.DOTALL)
_FIRST_WORD = re.compile(r"[A-Za-z]+")
_TRAILING_FORMAT = re.compile(r"\bFORMAT\s+([A-Za-z0-9_]+)\s*;?\s*$", re.IGNORECASE)
_INSERT_WITH_FORMAT = re.compile(
    r"^(?P<head>\s*INSERT\s+INTO\s+.+?)\s+FORMAT\s+(?P<fmt>[A-Za-z0-9_]+)\s*$",
    re.IGNORECASE | re.DOTALL,
)
_CODE = re.compile(r"Code:\s*(\d+)")


@dataclass
class Statement:
    """One request for the engine.

    `data` is the payload of an `INSERT ... FORMAT <name>` statement, None for any other;
    `settings` and `params` (the `{name:Type}` values) apply to this statement only;
    `readonly` (a GET request) refuses anything that writes, as the `readonly` setting does.
    """

    sql: str
    data: bytes | None = None
    settings: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    database: str | None = None
    readonly: bool = False
    default_format: str = "TabSeparated"


@dataclass
class Answer:
    """The result: the body, its format (None when the statement returns no result set) and
    the counters for the `X-ClickHouse-Summary` header."""

    body: bytes
    format: str | None
    summary: dict[str, str]


class EngineError(Exception):
    """The engine refused or failed a statement; `code` is ClickHouse's error code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def statement_kind(sql: str) -> str:
    """The statement's first keyword in upper case ("SELECT", "INSERT", ...), or ""."""
    rest = sql[_LEADING.match(sql).end():]  # type: ignore[union-attr]  # the pattern always matches
    word = _FIRST_WORD.match(rest)
    return word.group(0).upper() if word else ""


def split_insert(sql: str) -> tuple[str, str] | None:
    """`INSERT INTO t (a, b) FORMAT Native` -> ("INSERT INTO t (a, b)", "Native"); else None."""
    match = _INSERT_WITH_FORMAT.match(sql)
    if match is None:
        return None
    return match.group("head").strip(), match.group("fmt")


def error_from(exc: Exception) -> EngineError:
    """chdb's exception as an EngineError with ClickHouse's code and message."""
    text = str(exc)
    start = text.find("Code:")
    message = text[start:] if start >= 0 else f"Code: {STD_EXCEPTION}. DB::Exception: {text}"
    match = _CODE.search(message)
    return EngineError(int(match.group(1)) if match else STD_EXCEPTION, message)


class ChdbEngine:
    """A chdb session on `path`, run as one ClickHouse server would run its requests."""

    def __init__(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self._conn = chdb_state.connect(str(path))
        self._applied: dict[str, str] = {}
        self._database = "default"
        self._mutex = threading.Lock()
        self.version = str(chdb.engine_version)
        self.timezone = self._scalar("SELECT timezone()")
        logger.info("chdb engine open path=%s version=%s", path, self.version)

    def execute(self, stmt: Statement) -> Answer:
        """Run one statement; raises EngineError with ClickHouse's code when it fails.

        Statements run one at a time: the settings applied for one must not leak into another.
        """
        with self._mutex:
            return self._execute(stmt)

    def _execute(self, stmt: Statement) -> Answer:
        # `readonly` is enforced here rather than SET: once set, a session could not set it
        # back for the next request.
        settings = dict(stmt.settings)
        readonly = stmt.readonly or settings.pop("readonly", "0") not in ("0", "")
        kind = statement_kind(stmt.sql)
        if readonly and kind not in _RESULT_KINDS and kind != "SET":
            why = (" For queries over HTTP, method GET implies readonly. You should use method"
                   " POST for modifying queries." if stmt.readonly else "")
            raise EngineError(
                READONLY,
                f"Code: {READONLY}. DB::Exception: Cannot execute query in readonly mode.{why}"
                " (READONLY)",
            )

        self._use_database(stmt.database)
        self._apply_settings(settings)
        insert = split_insert(stmt.sql) if stmt.data is not None else None
        if insert is not None:
            return self._insert(insert[0], insert[1], stmt.data or b"")
        return self._query(stmt, kind)

    def close(self) -> None:
        """Close the session; the data dir keeps every committed part."""
        with self._mutex:
            self._conn.close()
        logger.info("chdb engine closed")

    def _query(self, stmt: Statement, kind: str) -> Answer:
        trailing = _TRAILING_FORMAT.search(stmt.sql)
        fmt = trailing.group(1) if trailing else stmt.default_format
        try:
            result = self._conn.query(stmt.sql, fmt, params=stmt.params)
        except Exception as exc:  # chdb raises ChdbError or RuntimeError; both carry the code
            raise error_from(exc) from None

        body = bytes(result.bytes())
        summary = _summary(
            read_rows=result.rows_read(), read_bytes=result.bytes_read(),
            written_rows=result.rows_written(), written_bytes=result.bytes_written(),
            elapsed_s=result.elapsed(), result_bytes=len(body),
        )
        return Answer(body, fmt if kind in _RESULT_KINDS else None, summary)

    def _insert(self, head: str, fmt: str, data: bytes) -> Answer:
        inserter: Any = None
        try:
            inserter = self._conn.send_insert(head, fmt)
            inserter.append(data)
            done = inserter.finish()
        except Exception as exc:
            if inserter is not None:
                with contextlib.suppress(Exception):  # the insert's own error is what matters
                    inserter.cancel()
            raise error_from(exc) from None

        summary = _summary(
            written_rows=done.rows_written, written_bytes=done.bytes_written,
            elapsed_s=done.elapsed,
        )
        return Answer(b"", None, summary)

    def _use_database(self, database: str | None) -> None:
        wanted = database or "default"
        if wanted == self._database:
            return

        self._run(f"USE {_quote_identifier(wanted)}")
        self._database = wanted

    def _apply_settings(self, settings: dict[str, str]) -> None:
        """Make the session's settings exactly `settings` over the defaults."""
        resets = [name for name in self._applied if name not in settings]
        if resets:
            self._run("SET " + ", ".join(f"{_quote_identifier(n)} = DEFAULT" for n in resets))
            for name in resets:
                del self._applied[name]

        changes = {n: v for n, v in settings.items() if self._applied.get(n) != v}
        if changes:
            assignments = ", ".join(
                f"{_quote_identifier(n)} = {_quote_string(v)}" for n, v in changes.items()
            )
            self._run(f"SET {assignments}")
            self._applied.update(changes)

    def _run(self, sql: str) -> None:
        try:
            self._conn.query(sql, "TabSeparated")
        except Exception as exc:
            raise error_from(exc) from None

    def _scalar(self, sql: str) -> str:
        return bytes(self._conn.query(sql, "TabSeparated").bytes()).decode().strip()


def _summary(elapsed_s: float = 0.0, **counts: int) -> dict[str, str]:
    """The X-ClickHouse-Summary fields; ClickHouse writes every number as a string."""
    fields = {
        "read_rows": 0, "read_bytes": 0, "written_rows": 0, "written_bytes": 0,
        "total_rows_to_read": 0, "result_bytes": 0,
    }
    fields.update(counts)
    out: dict[str, Any] = {name: str(int(value)) for name, value in fields.items()}
    out["elapsed_ns"] = str(int(elapsed_s * 1e9))
    return out


def _quote_identifier(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def _quote_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
