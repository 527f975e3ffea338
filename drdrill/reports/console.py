"""What the terminal shows at the end of a drill: the verdict, RTO and RPO, where the files are."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer


def _seconds(block: dict[str, Any] | None) -> str:
    if not block or block.get("seconds") is None:
        return "unknown"
    return f"{block['seconds']:.3f} s ± {block.get('bound_seconds') or 0:.3f} s"


def _objective(summary: dict[str, Any], name: str) -> str:
    objective = summary.get("objectives", {}).get(name)
    if not objective:
        return ""
    return f" (objective {objective['objective_seconds']:g} s: {objective['verdict']})"


def _count(value: int | None) -> str:
    """A count, or `unknown` when it could not be measured (a failed final read)."""
    return "unknown" if value is None else str(value)


def print_outcome(summary: dict[str, Any], run_dir: Path) -> None:
    """Print the verdict, RTO, RPO and each store's lost writes."""
    typer.echo(f"verdict: {summary.get('verdict')}")
    if summary.get("abort_reason"):
        typer.echo(f"aborted: {summary['abort_reason']}")
    typer.echo(f"RTO: {_seconds(summary.get('rto'))}{_objective(summary, 'rto')}")
    typer.echo(f"RPO: {_seconds(summary.get('rpo'))}{_objective(summary, 'rpo')}")
    for store in summary.get("stores", []):
        ranges = store.get("lost_ranges") or []
        simulated = ", replication simulated" if store.get("replication") == "simulated" else ""
        typer.echo(
            f"  {store['name']} ({store['kind']}{simulated}):"
            f" lost {_count(store['lost_writes'])} of {store['acked']} acknowledged writes"
            f" {ranges if ranges else ''}".rstrip()
        )
    typer.echo(f"run directory: {run_dir}")
