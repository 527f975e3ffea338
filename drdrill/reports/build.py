"""Every report of a run, rebuilt from its journal alone."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from drdrill.journal.reader import read_journal
from drdrill.journal.writer import JOURNAL_NAME
from drdrill.measure.summary import summarize
from drdrill.reports.markdown import render_markdown
from drdrill.reports.summary_file import write_summary

logger = logging.getLogger(__name__)


def build_reports(run_dir: Path) -> dict[str, Any]:
    """Measure the run's journal and write summary.json and report.md; returns the summary."""
    journal = read_journal(run_dir / JOURNAL_NAME)
    summary = summarize(journal)
    write_summary(run_dir, summary)
    (run_dir / "report.md").write_text(render_markdown(summary))
    logger.info("reports written run_dir=%s verdict=%s", run_dir, summary.get("verdict"))
    return summary


def exit_code(summary: dict[str, Any]) -> int:
    """0 objectives met; 1 an objective missed or unknown; 2 the drill was aborted."""
    verdict = summary.get("verdict")
    if verdict == "met":
        return 0
    if verdict == "aborted":
        return 2
    return 1
