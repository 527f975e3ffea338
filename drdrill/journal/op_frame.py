"""The columns of the ops frame, filled block by block and handed to pandas without copies.

Arrays are allocated once at a capacity estimated from the file size and filled in place: on
the virtual machines drills run from, touching fresh memory costs about as much as parsing it,
so growing lists of arrays and concatenating them would double the cost. Pages past the last op
are never touched and so never resident.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

logger = logging.getLogger(__name__)

OUTCOMES = ("ok", "fail", "info")
_INT_KEYS = ("s", "d", "i", "c")
_REQUIRED = ("p", "s", "d", "i", "c", "o")
_OP_KEYS = frozenset({"k", "p", "s", "d", "i", "c", "o", "e", "r", "v"})


class JournalFormatError(ValueError):
    """A complete journal line that is not a record of docs/journal.md."""


class _Codes:
    """Category codes of one string column; categories are interned in first-seen order."""

    def __init__(self, capacity: int, fixed: tuple[str, ...] = ()) -> None:
        self.codes: np.ndarray = np.empty(capacity, np.int8)
        self.index: dict[str, int] = {name: n for n, name in enumerate(fixed)}
        self.fixed = bool(fixed)

    def code(self, value: str | None) -> int:
        """The code of `value` (-1 for null), interning it when new."""
        if value is None:
            return -1

        found = self.index.get(value)
        if found is not None:
            return found

        if self.fixed:
            raise JournalFormatError(f"op outcome {value!r} is not one of {', '.join(OUTCOMES)}")

        self.index[value] = len(self.index)
        return len(self.index) - 1

    def table(self, values: list[str | None]) -> np.ndarray:
        """Codes for an Arrow dictionary's values, with one extra trailing -1 for nulls."""
        codes = [self.code(value) for value in values] + [-1]
        return np.array(codes, dtype=np.int64)

    def copy_chunk(self, chunk: pa.DictionaryArray, start: int) -> None:
        """Write the codes of a dictionary-encoded Arrow chunk from row `start` (null: -1)."""
        lookup = self.table(chunk.dictionary.to_pylist())
        self.widen_if_needed(start)
        out = self.codes[start:start + len(chunk)]
        if chunk.null_count:
            out[:] = lookup[pc.fill_null(chunk.indices, len(lookup) - 1).to_numpy()]
        elif np.array_equal(lookup[:-1], np.arange(len(lookup) - 1)):
            # The common case: the chunk lists its values in the order they were interned,
            # so its indices are the codes; a gather would cost a fresh index array.
            out[:] = chunk.indices.to_numpy()
        else:
            out[:] = lookup[chunk.indices.to_numpy()]

    def widen_if_needed(self, filled: int) -> None:
        """Move to a wider code type once the categories outgrow the current one."""
        limit = np.iinfo(self.codes.dtype).max
        if len(self.index) <= limit:
            return

        wider = np.empty(len(self.codes), np.int32)
        wider[:filled] = self.codes[:filled]
        self.codes = wider

    def categorical(self, count: int) -> pd.Categorical:
        """The first `count` codes as a pandas Categorical (no copy in the common case)."""
        names = sorted(self.index, key=self.index.__getitem__)
        return pd.Categorical.from_codes(self.codes[:count], categories=pd.Index(names, dtype=str))


class OpColumns:
    """Growable columns of ops: `s d i c` int64, `v` float64 (NaN = null), `p o e r` codes."""

    def __init__(self, capacity: int) -> None:
        capacity = max(capacity, 16)
        self.count = 0
        self.ints = {key: np.empty(capacity, np.int64) for key in _INT_KEYS}
        self.v = np.empty(capacity, np.float64)
        self.strings = {"p": _Codes(capacity), "o": _Codes(capacity, OUTCOMES),
                        "e": _Codes(capacity), "r": _Codes(capacity)}
        # Keys a few ops carry after `v` (a DNS op's `a` and `ttl`), by row: too rare to
        # deserve a column of every op.
        self.extra_rows: list[int] = []
        self.extra_values: list[dict[str, Any]] = []

    def _reserve(self, extra: int) -> None:
        """Grow every column, doubling, so that `extra` more ops fit."""
        capacity = len(self.v)
        need = self.count + extra
        if need <= capacity:
            return

        capacity = max(need, 2 * capacity)
        logger.debug("op columns growing capacity=%d", capacity)
        for key, old in self.ints.items():
            self.ints[key] = _grown(old, capacity, self.count)
        self.v = _grown(self.v, capacity, self.count)
        for column in self.strings.values():
            column.codes = _grown(column.codes, capacity, self.count)

    def append_table(self, table: pa.Table) -> None:
        """Append ops parsed in bulk (columns named by key, strings dictionary-encoded)."""
        rows = table.num_rows
        self._reserve(rows)
        for key in _INT_KEYS:
            _copy_chunks(table.column(key), self.ints[key], self.count)
        _copy_chunks(table.column("v"), self.v, self.count)

        for key, column in self.strings.items():
            offset = self.count
            for chunk in table.column(key).chunks:
                column.copy_chunk(chunk, offset)
                offset += len(chunk)
            if key in _REQUIRED and np.any(column.codes[self.count:offset] < 0):
                raise JournalFormatError(f"op record with null {key!r}")
        self.count += rows

    def append_records(self, records: list[dict[str, Any]]) -> None:
        """Append op records one by one (hand-built journals, lines the bulk parser refused)."""
        self._reserve(len(records))
        for record in records:
            missing = [key for key in _REQUIRED if record.get(key) is None]
            if missing:
                raise JournalFormatError(f"op record without {', '.join(missing)}: {record!r}")

            wrong = [key for key in (*_INT_KEYS, "v") if not _is_int(record.get(key), key == "v")]
            if wrong:
                raise JournalFormatError(
                    f"op record with a non-integer {', '.join(wrong)}: {record!r}")

            row = self.count
            for key in _INT_KEYS:
                self.ints[key][row] = record[key]
            value = record.get("v")
            self.v[row] = np.nan if value is None else value
            for key, column in self.strings.items():
                code = column.code(record.get(key))
                column.widen_if_needed(row)
                column.codes[row] = code
            extra = {key: value for key, value in record.items() if key not in _OP_KEYS}
            if extra:
                self.extra_rows.append(row)
                self.extra_values.append(extra)
            self.count += 1

    def append_extras(self, first_row: int, extras: list[tuple[int, bytes]]) -> None:
        """Keep the keys cut off bulk-parsed op lines: (row after `first_row`, JSON text)."""
        for line, text in extras:
            try:
                values = orjson.loads(text)
            except orjson.JSONDecodeError as exc:
                raise JournalFormatError(f"op keys after v are not JSON: {text[:80]!r}") from exc
            self.extra_rows.append(first_row + line)
            self.extra_values.append(values)

    def extras_frame(self) -> pd.DataFrame:
        """The keys ops carried after `v`, one row per such op, indexed by its row in `frame`."""
        return pd.DataFrame(self.extra_values, index=pd.Index(self.extra_rows, dtype=np.int64))

    def frame(self) -> pd.DataFrame:
        """The ops as a DataFrame sharing memory with these columns."""
        n = self.count
        data: dict[str, Any] = {"p": self.strings["p"].categorical(n)}
        for key in _INT_KEYS:
            data[key] = self.ints[key][:n]
        for key in ("o", "e", "r"):
            data[key] = self.strings[key].categorical(n)
        data["v"] = self.v[:n]
        return pd.DataFrame(data, copy=False)


def _is_int(value: Any, nullable: bool) -> bool:
    """True for an integer (not a bool), or for None when `nullable`."""
    if value is None:
        return nullable
    return isinstance(value, int) and not isinstance(value, bool)


def _copy_chunks(column: pa.ChunkedArray, out: np.ndarray, start: int) -> None:
    """Copy an Arrow int64 column into `out[start:]` chunk by chunk (nulls become NaN)."""
    for chunk in column.chunks:
        values = chunk.to_numpy(zero_copy_only=False) if chunk.null_count else chunk.to_numpy()
        out[start:start + len(chunk)] = values
        start += len(chunk)


def _grown(old: np.ndarray, capacity: int, filled: int) -> np.ndarray:
    new = np.empty(capacity, old.dtype)
    new[:filled] = old[:filled]
    return new
