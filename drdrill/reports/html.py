"""report.html: one self-contained file for the operator, readable offline and forever.

No script, no stylesheet or font from anywhere, no image file: the CSS is inline and every chart
is inline SVG drawn by matplotlib, so the report opens the same in an air-gapped audit room as
on the laptop that ran the drill. The verdict and objectives come first, then where the time
went (timeline, decomposition), then what was lost (stores), then the baseline and latencies.
"""

from __future__ import annotations

import html
import logging
import time
from typing import Any

import drdrill
from drdrill.journal.reader import Journal
from drdrill.reports.charts import (
    render_decomposition_chart,
    render_lag_chart,
    render_latency_chart,
)
from drdrill.reports.html_sections import (
    lag_table,
    latency_table,
    notes_list,
    objectives_table,
    probes_table,
    run_facts,
    stores_table,
    text,
    verdict_badge,
)
from drdrill.reports.timeline_chart import render_timeline

logger = logging.getLogger(__name__)

CSS = """
body { font-family: "DejaVu Sans", Arial, sans-serif; margin: 24px auto; max-width: 1280px;
       color: #1b1b1b; font-size: 14px; }
h1 { font-size: 22px; margin-bottom: 4px; }
h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.badge { display: inline-block; padding: 2px 10px; border-radius: 4px; color: #fff;
         font-weight: bold; text-transform: uppercase; font-size: 13px; }
h1 .badge { font-size: 20px; padding: 4px 16px; }
.verdict-met { background: #2e7d32; } .verdict-missed { background: #c62828; }
.verdict-unknown { background: #ef8f00; } .verdict-aborted { background: #616161; }
table { border-collapse: collapse; margin: 8px 0; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f5f5f5; }
dl.facts { display: grid; grid-template-columns: max-content auto; gap: 2px 16px; }
dl.facts dt { color: #555; } dl.facts dd { margin: 0; font-family: monospace; }
figure { margin: 8px 0; } figure svg { width: 100%; height: auto; }
figcaption { color: #555; font-size: 12px; }
.lost { font-weight: bold; }
.note-warning, .note-error { color: #b71c1c; }
footer { margin-top: 32px; color: #777; font-size: 12px; }
"""


def render_html(summary: dict[str, Any], journal: Journal) -> str:
    """The whole report.html of a run as one string (UTF-8 HTML5, no external reference)."""
    started = time.perf_counter()
    logger.info("html report started run_id=%s ops=%d", summary.get("run_id"), len(journal.ops))
    body = "\n".join([
        _header(summary, journal),
        _section("Timeline", "timeline", _figure(render_timeline(summary, journal), (
            "One lane per probe: green ok, amber info (outcome unknown), red fail; shaded bands "
            "are phases; the dashed line is T0. Under each lane, the bracket runs from the "
            "probe's first failure after T0 to its stable recovery; the diamond is its RTO with "
            "its bound. Long runs are drawn at a fixed resolution, showing the worst outcome of "
            "each slice, so no failure is hidden."))),
        _section("Where the recovery time went", "decomposition",
                 _figure(render_decomposition_chart(summary),
                         "Seconds from T0: detection, each failover step, and the time from "
                         "the last step to the drill's RTO.")),
        _section("Probes", "probes", probes_table(summary)),
        _section("Stores: lost, unknown and duplicate writes", "stores", stores_table(summary)),
        _section("Replication lag in the baseline", "lag",
                 _figure(render_lag_chart(journal),
                         "Heartbeats the replica was behind at each of its reads: the newest "
                         "acknowledged before the read minus the newest it held. The table "
                         "holds the figures of record; the lag predicts the RPO.")
                 + lag_table(summary)),
        _section("Latency by phase", "latency",
                 _figure(render_latency_chart(summary), "Percentiles of ok ops, in ms.")
                 + latency_table(summary)),
        _section("Notes", "notes", notes_list(journal) or "<p>none</p>"),
    ])
    page = _page(summary, body)
    logger.info("html report complete run_id=%s bytes=%d seconds=%.2f",
                summary.get("run_id"), len(page), time.perf_counter() - started)
    return page


def _page(summary: dict[str, Any], body: str) -> str:
    title = html.escape(f"drdrill report: {summary.get('drill', '')} {summary.get('run_id', '')}")
    footer = (f"<footer>drdrill {html.escape(drdrill.__version__)}, summary schema version "
              f"{text(summary.get('schema_version'))}. Rebuilt from journal.jsonl alone by "
              f"<code>drdrill report</code>.</footer>")
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{title}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
            f"{body}\n{footer}\n</body>\n</html>\n")


def _header(summary: dict[str, Any], journal: Journal) -> str:
    return (f'<header id="verdict"><h1>{text(summary.get("drill"))}: '
            f'{verdict_badge(summary.get("verdict"))}</h1>\n'
            f"{objectives_table(summary)}\n{run_facts(summary, journal)}</header>")


def _section(title: str, anchor: str, content: str) -> str:
    return f'<section id="{anchor}"><h2>{html.escape(title)}</h2>\n{content}\n</section>'


def _figure(svg: str | None, caption: str) -> str:
    if svg is None:
        return "<p>nothing to draw for this run</p>"
    return f"<figure>{svg}<figcaption>{html.escape(caption)}</figcaption></figure>"
