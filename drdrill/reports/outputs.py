"""The files a run gets beside summary.json and report.md: report.html, junit.xml, the
Prometheus metrics file when asked for, and the evidence bundle, written last so that its hash
list covers every report."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drdrill.journal.reader import Journal
from drdrill.reports.evidence import write_evidence
from drdrill.reports.html import render_html
from drdrill.reports.junit import render_junit
from drdrill.reports.metrics import render_metrics, write_metrics
from drdrill.reports.schema import summary_problems

logger = logging.getLogger(__name__)

HTML_NAME, JUNIT_NAME = "report.html", "junit.xml"


@dataclass(frozen=True)
class OutputOptions:
    """What the operator asked for on the command line."""

    metrics_file: Path | None = None
    ssh_key: Path | None = None
    gpg_key: str | None = None


def write_outputs(run_dir: Path, summary: dict[str, Any], journal: Journal,
                  options: OutputOptions | None = None,
                  known_hashes: dict[str, Callable[[], str]] | None = None) -> None:
    """Write report.html, junit.xml, the metrics file and the evidence bundle of a run."""
    options = options or OutputOptions()

    # A summary off its schema is a drdrill bug; the reports are still written, for the
    # operator, and the bug is logged loudly rather than hiding the run's results.
    for problem in summary_problems(summary):
        logger.error("summary does not match its schema problem=%s", problem)

    (run_dir / HTML_NAME).write_text(render_html(summary, journal), encoding="utf-8")
    (run_dir / JUNIT_NAME).write_text(render_junit(summary, journal), encoding="utf-8")
    if options.metrics_file is not None:
        started = ((journal.header or {}).get("clock") or {}).get("utc")
        write_metrics(options.metrics_file, render_metrics(summary, started))

    write_evidence(run_dir, journal, ssh_key=options.ssh_key, gpg_key=options.gpg_key,
                   known_hashes=known_hashes)
    logger.info("outputs written run_dir=%s", run_dir)
