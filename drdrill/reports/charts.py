"""The smaller charts of report.html: baseline replication lag, latency by phase, RTO
decomposition. Each returns an inline <svg> element, or None when the run has nothing to draw.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes

from drdrill.journal.reader import Journal
from drdrill.reports.lag_series import lag_series
from drdrill.reports.svg import figure_svg, new_figure, report_style

PHASE_ORDER = ("preflight", "baseline", "fault", "failover", "recovery", "verification",
               "failback", "rollback", "teardown")
PERCENTILE_COLORS = {"p50": "#9ecae1", "p95": "#4292c6", "p99": "#08519c"}
# Segments of the decomposition bar by name; any other name is a failover step.
SEGMENT_COLORS = {"detect": "#d62728", "waiting": "#d9d9d9", "to stable recovery": "#6baed6"}
STEP_COLOR = "#1f5fa8"


def render_lag_chart(journal: Journal) -> str | None:
    """Sequence behind of each replica probe during the baseline; None without replica probes."""
    series = [s for s in lag_series(journal) if s.seconds.size]
    if not series:
        return None

    with report_style():
        figure = new_figure(12.0, 2.6)
        axes = figure.add_subplot()
        for one in series:
            axes.step(one.seconds, one.seq_behind, where="post", linewidth=1.0,
                      label=f"{one.replica} behind {one.watches}")
        axes.set_xlabel("seconds from T0 (baseline)")
        axes.set_ylabel("heartbeats behind")
        axes.set_ylim(bottom=0)
        axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
        return figure_svg(figure, "replication lag during the baseline")


def render_latency_chart(summary: dict[str, Any]) -> str | None:
    """p50, p95 and p99 latency of each probe by phase (log scale); None without latencies."""
    probes = [p for p in summary.get("probes", []) if _phases_with_latency(p)]
    if not probes:
        return None

    with report_style():
        figure = new_figure(12.0, 2.8)
        for index, probe in enumerate(probes):
            axes = figure.add_subplot(1, len(probes), index + 1)
            _latency_bars(axes, probe)
        return figure_svg(figure, "latency percentiles of each probe by phase")


def render_decomposition_chart(summary: dict[str, Any]) -> str | None:
    """Where the recovery time went, as one bar from T0; None when the drill had no fault."""
    segments = decomposition_segments(summary)
    if not segments:
        return None

    with report_style():
        figure = new_figure(12.0, 1.9)
        axes = figure.add_subplot()
        for index, (name, start, end) in enumerate(segments):
            axes.broken_barh([(start, max(end - start, 1e-3))], (0, 1), edgecolor="white",
                             facecolors=SEGMENT_COLORS.get(name, STEP_COLOR))
            # Alternate two rows of labels, so that short neighbours do not overwrite each other.
            axes.text((start + end) / 2, 1.1 + 0.45 * (index % 2), f"{name}\n{end - start:.2f} s",
                      ha="center", va="bottom", fontsize=8)
        _mark_instants(axes, summary)
        axes.set_yticks([])
        axes.set_ylim(-0.9, 2.5)
        axes.set_xlabel("seconds from T0")
        return figure_svg(figure, "decomposition of the recovery time")


def decomposition_segments(summary: dict[str, Any]) -> list[tuple[str, float, float]]:
    """(name, start, end) seconds from T0: detect, the wait before each step, each step, and
    the last step's end to the drill's RTO; [] when nothing was measured."""
    parts = summary.get("decomposition") or {}
    segments: list[tuple[str, float, float]] = []
    cursor = 0.0
    if parts.get("detect_seconds") is not None:
        cursor = float(parts["detect_seconds"])
        segments.append(("detect", 0.0, cursor))

    for step in parts.get("steps", []):
        start, end = step.get("start_seconds"), step.get("end_seconds")
        if start is None or end is None:
            continue
        if start > cursor:
            segments.append(("waiting", cursor, start))
        segments.append((step["name"], start, end))
        cursor = max(cursor, end)

    rto = (summary.get("rto") or {}).get("seconds")
    if rto is not None and rto > cursor:
        segments.append(("to stable recovery", cursor, rto))
    return segments


def _mark_instants(axes: Axes, summary: dict[str, Any]) -> None:
    """Vertical marks for INSYNC, DNS convergence, first stable HTTP ok and the RTO."""
    parts = summary.get("decomposition") or {}
    marks = {"INSYNC": parts.get("insync_seconds"),
             "DNS converged": parts.get("dns_converged_seconds"),
             "first stable HTTP": parts.get("first_stable_http_seconds"),
             "RTO": (summary.get("rto") or {}).get("seconds")}
    for row, (name, seconds) in enumerate((n, s) for n, s in marks.items() if s is not None):
        axes.axvline(seconds, color="black", linewidth=0.9, linestyle=":")
        axes.text(seconds, -0.25 - 0.3 * row, f" {name} {seconds:.3f} s", fontsize=8,
                  va="center")


def _phases_with_latency(probe: dict[str, Any]) -> list[str]:
    latency = probe.get("latency_ms") or {}
    known = [name for name in PHASE_ORDER if name in latency]
    others = [name for name in latency if name not in PHASE_ORDER]
    return [name for name in known + others if latency[name].get("p50") is not None]


def _latency_bars(axes: Axes, probe: dict[str, Any]) -> None:
    phases = _phases_with_latency(probe)
    positions = np.arange(len(phases))
    for offset, (key, color) in enumerate(PERCENTILE_COLORS.items()):
        values = [probe["latency_ms"][phase].get(key) or np.nan for phase in phases]
        axes.bar(positions + (offset - 1) * 0.27, values, width=0.27, color=color, label=key)
    axes.set_xticks(positions, phases, rotation=20)
    axes.set_yscale("log")
    axes.set_title(probe["name"], fontsize=9)
    axes.set_ylabel("ms")
    axes.legend(frameon=False, fontsize=7)
