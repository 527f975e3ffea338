"""Every report of a run, rebuilt from its journal alone."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from drdrill.journal.reader import read_journal
from drdrill.journal.writer import JOURNAL_NAME
from drdrill.measure.summary import summarize
from drdrill.reports.markdown import render_markdown
from drdrill.reports.outputs import OutputOptions, write_outputs
from drdrill.reports.summary_file import write_summary

logger = logging.getLogger(__name__)


def build_reports(run_dir: Path, options: OutputOptions | None = None) -> dict[str, Any]:
    """Measure the run's journal and write every report and the evidence bundle.

    summary.json, report.md, report.html, junit.xml, evidence.sha256 (and the metrics file or
    the signature when `options` asks); returns the summary.
    """
    journal = read_journal(run_dir / JOURNAL_NAME)
    summary = summarize(journal)
    write_summary(run_dir, summary)
    (run_dir / "report.md").write_text(render_markdown(summary))
    logger.info("reports written run_dir=%s verdict=%s", run_dir, summary.get("verdict"))
    write_outputs(run_dir, summary, journal, options)
    return summary


def exit_code(summary: dict[str, Any]) -> int:
    """0 objectives met; 1 an objective missed or unknown; 2 the drill was aborted."""
    verdict = summary.get("verdict")
    if verdict == "met":
        return 0
    if verdict == "aborted":
        return 2
    return 1
