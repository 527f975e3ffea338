"""The timeline of report.html: one lane per probe, the failover steps, phases, T0, outages, RTO.

x is seconds from T0 (negative before the fault). Lanes come from `timeline_spans` (runs of
equal outcome); each probe's outage and RTO with its bound come from the summary, so the chart
shows the very numbers the verdict was made of.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from matplotlib.axes import Axes
from matplotlib.patches import Patch
from matplotlib.transforms import blended_transform_factory

from drdrill.journal.reader import Journal
from drdrill.measure.facts import DrillFacts, gather_facts
from drdrill.reports.svg import figure_svg, new_figure, report_style
from drdrill.reports.timeline_spans import FAIL, INFO, OK, LaneSpans, lane_spans

COLORS = {OK: "#2e9e44", INFO: "#f0a202", FAIL: "#d62728"}
STEP_COLOR, STEP_FAILED_COLOR = "#1f5fa8", "#8c1c13"
PHASE_SHADES = ("#f2f2f2", "#ffffff")
LEGEND = [Patch(color=COLORS[OK], label="ok"), Patch(color=COLORS[INFO], label="info (unknown)"),
          Patch(color=COLORS[FAIL], label="fail"), Patch(color=STEP_COLOR, label="step")]


@dataclass(frozen=True)
class Span:
    """A named interval in seconds from T0 (a phase or a step)."""

    name: str
    start: float
    end: float
    ok: bool = True


def render_timeline(summary: dict[str, Any], journal: Journal) -> str:
    """The timeline as an inline <svg> element: the whole run, and below it, when the run is
    much longer than its failover, the same lanes around the fault at full resolution."""
    facts = gather_facts(journal)
    origin = facts.origin if facts.origin is not None else 0
    span = _run_span(journal, origin)
    context = _Context(step_spans(facts, origin), phase_spans(facts, origin, span[1]),
                       {probe["name"]: probe for probe in summary.get("probes", [])})
    zoom = zoom_window(summary, *span) if facts.t0 is not None else None
    lanes = lane_spans(journal, origin)

    with report_style():
        rows = 1 if zoom is None else 2
        figure = new_figure(12.0, rows * (1.4 + 0.5 * (len(lanes) + 1)))
        whole = figure.add_subplot(rows, 1, 1)
        _draw_panel(whole, lanes, context, span, annotate=zoom is None)
        if zoom is not None:
            whole.axvspan(*zoom, facecolor="none", edgecolor="black", linestyle=":", zorder=3)
            # Ops a little outside the frame too, so that lanes run to its edges (clipped).
            pad = 0.1 * (zoom[1] - zoom[0])
            window = (origin + round((zoom[0] - pad) * 1e9), origin + round((zoom[1] + pad) * 1e9))
            near = figure.add_subplot(rows, 1, 2)
            _draw_panel(near, lane_spans(journal, origin, window_ns=window), context, zoom,
                        annotate=True)
            near.set_xlabel("seconds from T0, around the fault (the dotted frame above)")
        figure.legend(handles=LEGEND, loc="outside upper right", ncols=len(LEGEND),
                      frameon=False)
        return figure_svg(figure, "timeline of every probe's ops, phases, steps and RTO")


def zoom_window(summary: dict[str, Any], start: float, end: float) -> tuple[float, float] | None:
    """Seconds from T0 framing the fault, the outages, the steps and the RTO with a margin;
    None when that is more than a third of the run (the whole run shows it well enough)."""
    instants = [0.0]
    for probe in summary.get("probes", []):
        instants += [probe[key] for key in ("outage_start_seconds", "recovered_seconds")
                     if probe.get(key) is not None]
    for step in (summary.get("decomposition") or {}).get("steps", []):
        instants += [step[key] for key in ("start_seconds", "end_seconds")
                     if step.get(key) is not None]
    low, high = min(instants), max(instants)
    margin = max(0.15 * (high - low), 1.0)
    low, high = max(low - margin, start), min(high + margin, end)
    return (low, high) if 3 * (high - low) < end - start else None


def step_spans(facts: DrillFacts, origin_ns: int) -> list[Span]:
    """Every step (failover, failback, rollback); a step that never ended spans nothing."""
    return [Span(step.name, (step.start_t - origin_ns) / 1e9,
                 ((step.end_t if step.end_t is not None else step.start_t) - origin_ns) / 1e9,
                 bool(step.ok))
            for step in facts.steps]


def phase_spans(facts: DrillFacts, origin_ns: int, end: float) -> list[Span]:
    """Each phase from its mark to the next mark (the last one to `end`)."""
    marks = [(name, (t - origin_ns) / 1e9) for name, t in facts.phases]
    if not marks:
        return []
    ends = [t for _, t in marks[1:]] + [end]
    return [Span(name, start, max(stop, start))
            for (name, start), stop in zip(marks, ends, strict=True)]


def _run_span(journal: Journal, origin_ns: int) -> tuple[float, float]:
    """Seconds from T0 of the first and the last thing journaled."""
    instants = [event["t"] for event in journal.events if isinstance(event.get("t"), int)]
    if not journal.ops.empty:
        instants += [int(journal.ops["i"].min()), int(journal.ops["c"].max())]
    if not instants:
        return (0.0, 1.0)
    return ((min(instants) - origin_ns) / 1e9, (max(instants) - origin_ns) / 1e9)


@dataclass(frozen=True)
class _Context:
    """What both panels draw besides the lanes."""

    steps: list[Span]
    phases: list[Span]
    probes: dict[str, dict[str, Any]]


def _draw_panel(axes: Axes, lanes: list[LaneSpans], context: _Context,
                limits: tuple[float, float], annotate: bool) -> None:
    """Phases, steps, lanes and T0 within `limits` (seconds from T0); with `annotate`, also
    the step names and each probe's outage and RTO.

    Every text is placed within the limits: matplotlib's layout makes room for all texts, even
    those outside the visible range, and would squeeze the chart to nothing.
    """
    axes.set_xlim(*limits)
    _shade_phases(axes, context.phases, limits)
    _draw_steps(axes, context.steps, limits, annotate)
    for row, lane in enumerate(lanes, start=1):
        for code, color in COLORS.items():
            axes.broken_barh(lane.of(code), (row - 0.3, 0.6), facecolors=color, linewidth=0)
        if annotate and lane.probe in context.probes:
            _draw_outage(axes, row, context.probes[lane.probe], limits)

    axes.axvline(0.0, color="black", linestyle="--", linewidth=1.0)
    axes.text(0.0, -0.02, " T0", transform=blended_transform_factory(
        axes.transData, axes.transAxes), va="top", ha="left", fontweight="bold")
    _label_axes(axes, [lane.probe for lane in lanes])


def _shade_phases(axes: Axes, phases: list[Span], limits: tuple[float, float]) -> None:
    top = blended_transform_factory(axes.transData, axes.transAxes)
    low, high = limits
    for index, phase in enumerate(phases):
        if phase.end < low or phase.start > high:
            continue

        start = max(phase.start, low)
        axes.axvspan(start, min(phase.end, high), color=PHASE_SHADES[index % 2], zorder=0)
        axes.axvline(start, color="#b0b0b0", linewidth=0.6, zorder=0)
        # Two rows of labels, so that short phases (the fault is an instant) stay legible.
        axes.text(start, 1.01 + 0.06 * (index % 2), f" {phase.name}", transform=top,
                  fontsize=8, va="bottom", ha="left", color="#444444")


def _draw_steps(axes: Axes, steps: list[Span], limits: tuple[float, float],
                annotate: bool) -> None:
    for index, step in enumerate(steps):
        color = STEP_COLOR if step.ok else STEP_FAILED_COLOR
        axes.broken_barh([(step.start, max(step.end - step.start, 1e-3))], (-0.3, 0.6),
                         facecolors=color)
        if annotate and limits[0] <= step.end <= limits[1]:
            # Alternate above and below, so that back-to-back steps keep legible names.
            axes.text(step.end, -0.15 + 0.3 * (index % 2),
                      f" {step.name} {step.end - step.start:.2f} s", va="center", fontsize=8)


def _draw_outage(axes: Axes, row: int, probe: dict[str, Any],
                 limits: tuple[float, float]) -> None:
    """A bracket under the lane from the outage start to stable recovery, and the RTO mark."""
    start, recovered = probe.get("outage_start_seconds"), probe.get("recovered_seconds")
    if start is None:
        return

    stop = min(recovered if recovered is not None else limits[1], limits[1])
    axes.plot([start, start, stop, stop], [row + 0.38, row + 0.45, row + 0.45, row + 0.38],
              color="black", linewidth=0.9)
    if recovered is None or probe.get("rto_seconds") is None:
        axes.text(stop, row + 0.45, "no stable recovery ", va="center", ha="right", fontsize=8)
        return

    bound = probe.get("rto_bound_seconds") or 0.0
    axes.errorbar([recovered], [row], xerr=[bound], fmt="D", color="black", markersize=4,
                  capsize=3, linewidth=1.0)
    axes.text(min(recovered + bound, limits[1]), row - 0.32,
              f" RTO {probe['rto_seconds']:.3f} ± {bound:.3f} s", fontsize=8, va="center")


def _label_axes(axes: Axes, probes: list[str]) -> None:
    axes.set_yticks(range(len(probes) + 1), ["failover steps", *probes])
    axes.set_ylim(len(probes) + 0.7, -0.7)
    axes.set_xlabel("seconds from T0")
