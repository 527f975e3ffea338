"""The append-only journal of a run: JSON lines, flushed as the drill runs.

Records go to an in-memory buffer and reach the file at least every `flush_interval` (100 ms
by default), at every phase mark, and at close. The file is only ever appended to, so a crash
or a SIGKILL of the harness leaves every record flushed before it readable; a line cut short
is ignored by the reader. See docs/journal.md for the records.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Any

import orjson

logger = logging.getLogger(__name__)

JOURNAL_NAME = "journal.jsonl"


class JournalWriter:
    """Appends records to `RUN_DIR/journal.jsonl`; not thread-safe, one event loop only."""

    def __init__(self, path: Path, flush_interval: float = 0.1) -> None:
        self.path = path
        self.flush_interval = flush_interval
        self.records_written = 0
        self._buffer: list[bytes] = []
        self._file = open(path, "ab", buffering=0)  # noqa: SIM115 - closed in close()
        self._flusher: asyncio.Task[None] | None = None
        self._closed = False

    def write(self, record: dict[str, Any]) -> None:
        """Buffer one record; it reaches the file within `flush_interval`."""
        if self._closed:
            logger.warning("journal closed; record dropped kind=%s", record.get("k"))
            return

        self._buffer.append(orjson.dumps(record) + b"\n")
        self.records_written += 1

    def write_now(self, record: dict[str, Any], *, sync: bool = False) -> None:
        """Write one record and flush everything buffered, optionally to disk (fsync)."""
        self.write(record)
        self.flush(sync=sync)

    def flush(self, *, sync: bool = False) -> None:
        """Write the buffer to the file; with `sync`, also fsync it."""
        if self._buffer and not self._closed:
            chunk = b"".join(self._buffer)
            self._buffer.clear()
            self._file.write(chunk)

        if sync and not self._closed:
            os.fsync(self._file.fileno())

    def start_flusher(self) -> None:
        """Start the background task that flushes every `flush_interval`."""
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_forever(), name="journal-flusher")

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(self.flush_interval)
            self.flush()

    async def aclose(self) -> None:
        """Stop the flusher, flush and fsync everything, close the file."""
        if self._flusher is not None:
            self._flusher.cancel()
            try:
                await self._flusher
            except asyncio.CancelledError:
                pass
            self._flusher = None
        self.close()

    def close(self) -> None:
        """Flush, fsync and close; later writes are dropped with a warning."""
        if self._closed:
            return

        self.flush(sync=True)
        self._file.close()
        self._closed = True
        logger.info("journal closed path=%s records=%d", self.path, self.records_written)
