"""summary.json: the summary written as indented JSON with sorted keys.

Sorted keys and a fixed indent make the file a pure function of the summary, so that
`drdrill report` rebuilds it byte for byte from the journal and a diff shows what changed.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import orjson

logger = logging.getLogger(__name__)

SUMMARY_NAME = "summary.json"


def summary_bytes(summary: dict[str, Any]) -> bytes:
    """The exact bytes of summary.json for `summary` (2-space indent, sorted keys, newline)."""
    return orjson.dumps(summary, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def write_summary(run_dir: Path, summary: dict[str, Any]) -> Path:
    """Write `run_dir/summary.json`; returns its path."""
    path = run_dir / SUMMARY_NAME
    path.write_bytes(summary_bytes(summary))
    logger.info("summary written path=%s verdict=%s", path, summary.get("verdict"))
    return path
