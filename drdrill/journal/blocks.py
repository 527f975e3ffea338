"""The journal file read in blocks of whole lines, op lines parsed in bulk on a second thread.

In each block numpy finds the line starts and sorts the lines in two: compact op lines (nearly
all of them) go to the bulk parser of `op_lines`; everything else (phase marks, faults, steps,
final reads, and any op line the bulk parser cannot take) is parsed with orjson, one line at a
time, in file order. No Python code runs per op on the common path.

Two buffers take turns: while Arrow parses the op lines of one block (on a worker thread, and
on its own threads), the main thread reads and prepares the next one, so that both cores stay
busy. Buffers are reused, never reallocated per block: fresh memory is costly to touch on the
virtual machines drills run from. A block the bulk parser refuses is read again from the file
and parsed line by line, since preparing it rewrote its op lines in place.
"""

from __future__ import annotations

import io
import logging
import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from drdrill.journal.op_frame import JournalFormatError, OpColumns
from drdrill.journal.op_lines import OP_PREFIX, parse_op_block, to_csv_rows

logger = logging.getLogger(__name__)

BLOCK_BYTES = 16 << 20

# Where the letters of `op` are in OP_PREFIX (`{"k":"op",`).
_KIND_AT = (OP_PREFIX.index(b"op"), OP_PREFIX.index(b"op") + 1)
_CLOSING_BRACE = ord("}")
_NEWLINE = ord("\n")


@dataclass
class _Block:
    """One prepared block: where its lines are, and what is left to do once Arrow is done."""

    offset: int
    length: int
    first_line: int
    starts: np.ndarray
    ends: np.ndarray
    bulk: np.ndarray
    slow_ops: list[dict[str, Any]]
    extras: list[tuple[int, bytes]] | None
    parsed: Future[pa.Table | None] | None = field(default=None)


class BlockReader:
    """Reads a file into op columns and a list of the other records, in file order."""

    def __init__(self, file: io.BufferedReader, columns: OpColumns) -> None:
        block_bytes = BLOCK_BYTES
        self.file = file
        self.columns = columns
        self.events: list[dict[str, Any]] = []
        self._lines = 0
        self._offset = 0
        self._buffers = [bytearray(block_bytes), bytearray(block_bytes)]
        self._mask = np.empty(block_bytes, np.bool_)
        self._pending: _Block | None = None

    def read_all(self) -> int:
        """Read every complete line of the file; returns the length of a partial last line."""
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="journal-csv") as pool:
            filled, current = 0, 0
            while True:
                if filled == len(self._buffers[current]):
                    self._grow(current, filled)

                buffer = self._buffers[current]
                got = self.file.readinto(memoryview(buffer)[filled:])
                if not got:
                    break

                filled += got
                cut = buffer.rfind(b"\n", 0, filled) + 1
                if cut == 0:
                    continue

                prepared = self._prepare(np.frombuffer(buffer, np.uint8, count=cut), pool)
                self._finish_pending()
                self._pending = prepared

                # The other buffer is free now that its block is finished: the rest of the
                # last line read goes to its start.
                tail = filled - cut
                self._buffers[1 - current][:tail] = buffer[cut:filled]
                filled, current = tail, 1 - current
                self._offset += cut

            self._finish_pending()
        return filled

    def _grow(self, current: int, filled: int) -> None:
        """Double both buffers, for a single line longer than a block."""
        self._finish_pending()
        size = 2 * len(self._buffers[current])
        grown = bytearray(size)
        grown[:filled] = self._buffers[current][:filled]
        self._buffers = [grown, bytearray(size)] if current == 0 else [bytearray(size), grown]
        self._mask = np.empty(size, np.bool_)

    def _prepare(self, block: np.ndarray, pool: ThreadPoolExecutor) -> _Block:
        """Parse a block's other lines, prepare its op lines, and start their bulk parse."""
        mask = self._mask[:len(block)]
        ends = np.flatnonzero(np.equal(block, _NEWLINE, out=mask))
        starts = np.empty_like(ends)
        starts[0] = 0
        starts[1:] = ends[:-1] + 1

        # Every line that is not a compact op, in file order, is parsed on its own and blanked
        # (to newlines, which the CSV reader skips).
        bulk = _bulk_lines(block, starts, ends)
        prepared = _Block(offset=self._offset, length=len(block), first_line=self._lines,
                          starts=starts, ends=ends, bulk=bulk,
                          slow_ops=self._read_other_lines(block, starts, ends, bulk),
                          extras=[])
        self._lines += len(ends)

        expected = int(np.count_nonzero(bulk))
        if expected:
            prepared.extras = to_csv_rows(block, starts[bulk], ends[bulk], mask)
            if prepared.extras is not None:
                prepared.parsed = pool.submit(parse_op_block, block, expected)
        return prepared

    def _finish_pending(self) -> None:
        """Wait for the pending block's bulk parse and append its ops (or reparse it)."""
        block, self._pending = self._pending, None
        if block is None:
            return

        table = block.parsed.result() if block.parsed is not None else None
        if table is not None and block.extras is not None:
            first_row = self.columns.count
            self.columns.append_table(table)
            self.columns.append_extras(first_row, block.extras)
        elif np.any(block.bulk):
            original = np.frombuffer(os.pread(self.file.fileno(), block.length, block.offset),
                                     np.uint8)
            block.slow_ops.extend(_parse_lines(original, block.starts, block.ends,
                                               np.flatnonzero(block.bulk), block.first_line))
        self.columns.append_records(block.slow_ops)

    def _read_other_lines(self, block: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                          bulk: np.ndarray) -> list[dict[str, Any]]:
        """Parse the lines not taken in bulk into events; returns the op records among them."""
        others = np.flatnonzero(~bulk)
        ops: list[dict[str, Any]] = []
        for record in _parse_lines(block, starts, ends, others, self._lines):
            if record.get("k") == "op":
                ops.append(record)
            else:
                self.events.append(record)

        for line in others.tolist():
            block[starts[line]:ends[line]] = _NEWLINE
        return ops


def _parse_lines(block: np.ndarray, starts: np.ndarray, ends: np.ndarray, lines: np.ndarray,
                 first_line: int) -> list[dict[str, Any]]:
    """orjson-parse the given lines of a block (blank lines are skipped).

    `first_line` is the number of lines before the block, for error messages.
    """
    records = []
    for line in lines.tolist():
        text = block[starts[line]:ends[line]].tobytes()
        if not text.strip():
            continue

        try:
            record = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise JournalFormatError(f"journal line {first_line + line + 1} is not JSON: "
                                     f"{exc}; starts with {text[:80]!r}") from exc

        if not isinstance(record, dict):
            raise JournalFormatError(
                f"journal line {first_line + line + 1} is not a JSON object")

        records.append(record)
    return records


def _bulk_lines(block: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """True for the lines that look like a compact op: `{"k":"op` ... `}`.

    Only the bytes that tell an op from the other records are compared (`op` where every
    record has its kind): the bulk parser checks every key of every line anyway, and refuses
    a block holding a line that only looked like an op.
    """
    found = (ends - starts) > len(OP_PREFIX)
    safe_starts = np.where(found, starts, 0)
    for offset in _KIND_AT:
        found &= np.take(block, safe_starts + offset) == OP_PREFIX[offset]
    found &= np.take(block, np.where(found, ends - 1, 0)) == _CLOSING_BRACE
    bulk: np.ndarray = found
    return bulk
