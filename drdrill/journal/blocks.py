"""The journal file read in blocks of whole lines, parsed on two worker threads.

In each block numpy finds the line starts and sorts the lines in two: compact op lines (nearly
all of them) go to the bulk parser of `op_lines`; everything else (phase marks, faults, steps,
final reads, and any op line the bulk parser cannot take) is parsed with orjson, one line at a
time, in file order. No Python code runs per op on the common path.

Why two workers: parsing a block (numpy, then Arrow's CSV reader, both without the GIL) is
nearly all the work, so two blocks are parsed at once, one per core, while the main thread
reads the next block and appends finished ones in file order. Three buffers take turns and are
reused, never reallocated per block: fresh memory is costly to touch on the virtual machines
drills run from. A block the bulk parser refuses is read again from the file and parsed line by
line, since preparing it rewrote its op lines in place.
"""

from __future__ import annotations

import io
import logging
import os
from collections import deque
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
WORKERS = 2

# Where the letters of `op` are in OP_PREFIX (`{"k":"op",`).
_KIND_AT = (OP_PREFIX.index(b"op"), OP_PREFIX.index(b"op") + 1)
_CLOSING_BRACE = ord("}")
_NEWLINE = ord("\n")


class _BadLine(Exception):
    """A line of a block that is not a JSON object; the reader adds the lines before it."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(problem)
        self.line = line
        self.problem = problem


@dataclass
class _Parsed:
    """What one block held: its other records, its ops, and how many lines it had."""

    lines: int
    events: list[dict[str, Any]] = field(default_factory=list)
    slow_ops: list[dict[str, Any]] = field(default_factory=list)
    table: pa.Table | None = None
    extras: list[tuple[int, bytes]] = field(default_factory=list)


@dataclass
class _Slot:
    """A buffer for one block and the scratch mask of the same size its parse uses."""

    buffer: bytearray
    mask: np.ndarray

    @classmethod
    def sized(cls, size: int) -> _Slot:
        return cls(bytearray(size), np.empty(size, np.bool_))


class BlockReader:
    """Reads a file into op columns and a list of the other records, in file order."""

    def __init__(self, file: io.BufferedReader, columns: OpColumns) -> None:
        self.file = file
        self.columns = columns
        self.events: list[dict[str, Any]] = []
        self._lines = 0
        self._slots = [_Slot.sized(BLOCK_BYTES) for _ in range(WORKERS + 1)]
        self._in_flight: deque[Future[_Parsed]] = deque()

    def read_all(self) -> int:
        """Read every complete line of the file; returns the length of a partial last line."""
        with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="journal") as pool:
            filled, current, offset = 0, 0, 0
            while True:
                if filled == len(self._slots[current].buffer):
                    self._grow(current, filled)

                slot = self._slots[current]
                got = self.file.readinto(memoryview(slot.buffer)[filled:])
                if not got:
                    break

                filled += got
                cut = slot.buffer.rfind(b"\n", 0, filled) + 1
                if cut == 0:
                    continue

                # The next slot's block is the oldest in flight: finish it before its buffer
                # takes the rest of the last line read.
                following = (current + 1) % len(self._slots)
                self._finish(keep=WORKERS - 1)
                tail = filled - cut
                self._slots[following].buffer[:tail] = slot.buffer[cut:filled]
                block = np.frombuffer(slot.buffer, np.uint8, count=cut)
                self._in_flight.append(pool.submit(
                    parse_block, block, slot.mask[:cut], self.file.fileno(), offset))
                filled, current, offset = tail, following, offset + cut

            self._finish(keep=0)
        return filled

    def _finish(self, keep: int) -> None:
        """Append finished blocks, oldest first, until at most `keep` are in flight."""
        while len(self._in_flight) > keep:
            try:
                parsed = self._in_flight.popleft().result()
            except _BadLine as bad:
                raise JournalFormatError(
                    f"journal line {self._lines + bad.line + 1} {bad.problem}") from bad

            self._lines += parsed.lines
            self.events.extend(parsed.events)
            if parsed.table is not None:
                first_row = self.columns.count
                self.columns.append_table(parsed.table)
                self.columns.append_extras(first_row, parsed.extras)
            self.columns.append_records(parsed.slow_ops)

    def _grow(self, current: int, filled: int) -> None:
        """Double every buffer, for a single line longer than a block."""
        self._finish(keep=0)
        size = 2 * len(self._slots[current].buffer)
        grown = [_Slot.sized(size) for _ in self._slots]
        grown[current].buffer[:filled] = self._slots[current].buffer[:filled]
        self._slots = grown


def parse_block(block: np.ndarray, mask: np.ndarray, fd: int, offset: int) -> _Parsed:
    """Parse one block of whole lines (its last byte is a newline), on a worker thread.

    `mask` is scratch space as long as the block; `fd` and `offset` locate the block in the
    file, to read it again if the bulk parser refuses it.
    """
    ends = np.flatnonzero(np.equal(block, _NEWLINE, out=mask))
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    parsed = _Parsed(lines=len(ends))

    # Every line that is not a compact op is parsed on its own and blanked (to newlines,
    # which the CSV reader skips).
    bulk = _bulk_lines(block, starts, ends)
    others = np.flatnonzero(~bulk)
    for record in _parse_lines(block, starts, ends, others):
        (parsed.slow_ops if record.get("k") == "op" else parsed.events).append(record)
    for line in others.tolist():
        block[starts[line]:ends[line]] = _NEWLINE

    expected = int(np.count_nonzero(bulk))
    if not expected:
        return parsed

    extras = to_csv_rows(block, starts[bulk], ends[bulk], mask)
    parsed.table = None if extras is None else parse_op_block(block, expected)
    if parsed.table is not None and extras is not None:
        parsed.extras = extras
        return parsed

    logger.info("journal block parsed line by line offset=%d lines=%d", offset, expected)
    original = np.frombuffer(os.pread(fd, len(block), offset), np.uint8)
    parsed.slow_ops.extend(_parse_lines(original, starts, ends, np.flatnonzero(bulk)))
    return parsed


def _parse_lines(block: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                 lines: np.ndarray) -> list[dict[str, Any]]:
    """orjson-parse the given lines of a block (blank lines are skipped)."""
    records = []
    for line in lines.tolist():
        text = block[starts[line]:ends[line]].tobytes()
        if not text.strip():
            continue

        try:
            record = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise _BadLine(line, f"is not JSON: {exc}; starts with {text[:80]!r}") from exc

        if not isinstance(record, dict):
            raise _BadLine(line, "is not a JSON object")

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
