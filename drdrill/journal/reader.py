"""Read a journal back: the `run` header, every op as one DataFrame, every other record in order.

The file is read in blocks (`blocks`): op lines are parsed in bulk by Arrow (`op_lines`), the
few other lines one by one with orjson. No Python code runs per op on the common path, which is
what lets `drdrill report` read ten million ops in seconds.

A journal whose last line has no newline was cut short by a crash mid-write: that line is
dropped and `Journal.truncated` is set; every complete line before it is measured.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from drdrill.journal.blocks import BlockReader
from drdrill.journal.op_frame import JournalFormatError, OpColumns

logger = logging.getLogger(__name__)

__all__ = ["Journal", "JournalFormatError", "read_journal"]

# The shortest op line the writer can produce (empty names, one-digit numbers), used to bound
# the number of ops in a file of a given size.
_SHORTEST_OP_LINE = len(
    b'{"k":"op","p":"","s":0,"d":0,"i":0,"c":0,"o":"ok","e":null,"r":"","v":null}\n')


@dataclass
class Journal:
    """A run's journal as data: header, ops frame, other records, and whether it was cut."""

    header: dict[str, Any] | None
    ops: pd.DataFrame
    events: list[dict[str, Any]] = field(default_factory=list)
    truncated: bool = False
    # Keys some ops carry after `v` (a DNS op's `a` and `ttl`), indexed by the op's row in `ops`.
    extras: pd.DataFrame = field(default_factory=pd.DataFrame)

    @classmethod
    def from_records(cls, records: list[dict[str, Any]]) -> Journal:
        """A journal built from records in file order (the first `run` record is the header)."""
        columns = OpColumns(len(records))
        columns.append_records([record for record in records if record.get("k") == "op"])
        events = [record for record in records if record.get("k") != "op"]
        return cls(header=_first_run(events), ops=columns.frame(), events=events,
                   extras=columns.extras_frame())

    @classmethod
    def empty(cls) -> Journal:
        """The journal of an empty file: no header, no ops, no events."""
        return cls.from_records([])


def read_journal(path: Path) -> Journal:
    """Read `path` (a journal.jsonl); returns the Journal, with `truncated` set when cut short."""
    logger.info("journal read started path=%s", path)
    size = path.stat().st_size
    with path.open("rb") as file:
        reader = BlockReader(file, OpColumns(size // _SHORTEST_OP_LINE + 1))
        tail = reader.read_all()

    truncated = tail > 0
    if truncated:
        logger.warning("journal ends with a partial line, dropped path=%s bytes=%d", path, tail)

    journal = Journal(header=_first_run(reader.events), ops=reader.columns.frame(),
                      events=reader.events, truncated=truncated,
                      extras=reader.columns.extras_frame())
    logger.info("journal read complete path=%s ops=%d events=%d truncated=%s",
                path, len(journal.ops), len(journal.events), truncated)
    return journal


def _first_run(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((record for record in events if record.get("k") == "run"), None)
