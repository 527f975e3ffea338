"""Every report of a run, rebuilt from its journal alone."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from drdrill.journal.reader import read_journal
from drdrill.journal.writer import JOURNAL_NAME
from drdrill.measure.summary import summarize
from drdrill.reports.evidence import file_sha256
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

    # Hash the journal (1.4 GB for 10M ops) on the other core while the charts are drawn:
    # hashlib releases the GIL, matplotlib does not.
    with ThreadPoolExecutor(max_workers=1) as pool:
        journal_hash = pool.submit(file_sha256, run_dir / JOURNAL_NAME)
        write_outputs(run_dir, summary, journal, options,
                      known_hashes={JOURNAL_NAME: journal_hash.result})
    return summary


def exit_code(summary: dict[str, Any]) -> int:
    """0 objectives met; 1 an objective missed or unknown; 2 the drill was aborted."""
    verdict = summary.get("verdict")
    if verdict == "met":
        return 0
    if verdict == "aborted":
        return 2
    return 1
