"""The `drdrill` command."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from drdrill.drills.loader import LoadedDrill, load_drill
from drdrill.drills.plan import render_plan
from drdrill.errors import DrillFileError
from drdrill.reports.build import build_reports, exit_code
from drdrill.reports.console import print_outcome

app = typer.Typer(
    help="Run disaster-recovery drills and measure RTO and RPO.",
    no_args_is_help=True,
    add_completion=False,
)
logger = logging.getLogger("drdrill")

FileArg = Annotated[Path, typer.Argument(help="the drill file (YAML)", show_default=False)]
OutOpt = Annotated[Path, typer.Option("--out", help="where run directories are written")]


def _scenario_names() -> list[str]:
    from drdrill.sim.scenarios import known_scenarios

    return known_scenarios()


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _load_or_exit(path: Path) -> LoadedDrill:
    """Load a drill file, or print every problem and exit 2 before anything runs."""
    try:
        loaded = load_drill(path)
    except DrillFileError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None

    for warning in loaded.warnings:
        typer.echo(f"warning: {warning}", err=True)
    return loaded


@app.command()
def validate(file: FileArg) -> None:
    """Check a drill file; nothing runs.

    Example: drdrill validate examples/local.yaml
    """
    loaded = _load_or_exit(file)
    typer.echo(f"{file}: valid drill {loaded.drill.name!r} ({len(loaded.drill.probes)} probes)")


@app.command()
def plan(file: FileArg) -> None:
    """Print every action the drill would take and its exact target; runs nothing.

    Example: drdrill plan examples/local.yaml
    """
    loaded = _load_or_exit(file)
    typer.echo("\n".join(render_plan(loaded.drill)))


@app.command()
def run(
    file: FileArg,
    out: OutOpt = Path("runs"),
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print the plan, run nothing")] = False,
    verbose: Annotated[bool, typer.Option("-v", "--verbose")] = False,
) -> None:
    """Run a drill file against real targets and measure it.

    Example: drdrill run examples/local.yaml --out runs/
    """
    loaded = _load_or_exit(file)
    if dry_run:
        typer.echo("\n".join(render_plan(loaded.drill)))
        raise typer.Exit(0)

    _setup_logging(verbose)
    from drdrill.drills.execute import execute_drill

    run_dir = asyncio.run(execute_drill(loaded, out))
    _report_and_exit(run_dir)


@app.command()
def simulate(
    scenario: Annotated[str, typer.Option(help="one of: " + ", ".join(_scenario_names()))] = (
        "kill-primary"
    ),
    out: OutOpt = Path("runs"),
    pause_seconds: Annotated[
        float, typer.Option(help="replication-paused: how long WAL receiving is paused")
    ] = 3.0,
    lag_seconds: Annotated[
        float, typer.Option(help="clickhouse-replica-behind: how far the replica runs behind")
    ] = 2.0,
    ttl: Annotated[float, typer.Option(help="dns-ttl: TTL of the flipped record, seconds")] = 5.0,
    seconds: Annotated[float, typer.Option(help="partition: how long the cut lasts")] = 4.0,
    verbose: Annotated[bool, typer.Option("-v", "--verbose")] = False,
) -> None:
    """Build two regions on loopback from real servers, run a drill on them, measure it.

    Example: drdrill simulate --scenario replication-paused --pause-seconds 3 --out runs/
    """
    _setup_logging(verbose)
    from drdrill.sim.scenarios import ScenarioOptions, known_scenarios
    from drdrill.sim.simulate import simulate as run_simulation

    if scenario not in known_scenarios():
        typer.echo(
            f"--scenario: unknown scenario {scenario!r}; expected one of {known_scenarios()}",
            err=True,
        )
        raise typer.Exit(2)

    options = ScenarioOptions(
        name=scenario,
        pause_seconds=pause_seconds,
        lag_seconds=lag_seconds,
        ttl_seconds=ttl,
        seconds=seconds,
    )
    run_dir = asyncio.run(run_simulation(options, out))
    _report_and_exit(run_dir)


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="a run directory holding journal.jsonl")],
) -> None:
    """Rebuild summary.json and report.md of a run from its journal alone.

    Example: drdrill report runs/local-sim-20261203T120000Z-4242
    """
    if not (run_dir / "journal.jsonl").is_file():
        typer.echo(f"{run_dir}: no journal.jsonl in this directory", err=True)
        raise typer.Exit(2)
    _report_and_exit(run_dir)


def _report_and_exit(run_dir: Path | None) -> None:
    if run_dir is None:
        raise typer.Exit(2)

    summary: dict[str, Any] = build_reports(run_dir)
    print_outcome(summary, run_dir)
    raise typer.Exit(exit_code(summary))


def main() -> None:
    """Entry point of the `drdrill` console script."""
    app()
