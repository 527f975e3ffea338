"""Matplotlib figures as inline SVG for report.html: no file, no font download, no URL.

Figures are built with `matplotlib.figure.Figure`, never pyplot, so no GUI backend is ever
chosen and no global figure list grows in a long process. The SVG written by matplotlib starts
with an XML prolog and a DOCTYPE pointing at w3.org and declares namespaces by URL; inside an
HTML document the parser gives inline <svg> its namespaces by itself, so all of that is cut,
which leaves the report without a single external reference.
"""

from __future__ import annotations

import contextlib
import io
import re
from typing import Any

import matplotlib
from matplotlib.figure import Figure
from matplotlib.typing import RcKeyType

# Text stays text (small, selectable, crisp).
RC: dict[RcKeyType, Any] = {
    "svg.fonttype": "none",
    "font.family": "DejaVu Sans",
    "font.size": 9.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
}

_NAMESPACE = re.compile(r'\s+xmlns(:\w+)?="[^"]*"')
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.DOTALL)


def report_style() -> contextlib.AbstractContextManager[None]:
    """The report's matplotlib settings; build and save each figure inside it (rcParams are
    read when artists are created, not when the figure is saved)."""
    return matplotlib.rc_context(RC)


def new_figure(width_in: float, height_in: float) -> Figure:
    """A figure with constrained layout; call inside `report_style()`."""
    return Figure(figsize=(width_in, height_in), layout="constrained")


def figure_svg(figure: Figure, label: str) -> str:
    """The figure as an <svg> element to paste into HTML, with `label` for screen readers;
    call inside `report_style()`."""
    buffer = io.StringIO()
    # Ids (clip paths) are hashes salted per chart, so that no two charts of a page share one.
    with matplotlib.rc_context({"svg.hashsalt": f"drdrill {label}"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})

    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    text = _METADATA.sub("", text)
    text = _NAMESPACE.sub("", text)
    return text.replace("<svg", f'<svg role="img" aria-label="{_attribute(label)}"', 1)


def _attribute(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
