"""The `drdrill` command."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from drdrill.drills.loader import LoadedDrill, load_drill
from drdrill.drills.secrets import drill_secrets
from drdrill.errors import DrillFileError
from drdrill.redact import redact, redact_log_handlers, remember_secrets

app = typer.Typer(
    help="Run disaster-recovery drills and measure RTO and RPO.",
    no_args_is_help=True,
    add_completion=False,
)
logger = logging.getLogger("drdrill")

FileArg = Annotated[Path, typer.Argument(help="the drill file (YAML)", show_default=False)]
OutOpt = Annotated[Path, typer.Option("--out", help="where run directories are written")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="print the plan, run nothing")]
YesOpt = Annotated[
    bool, typer.Option("--yes", help="run against targets not on loopback without asking")
]
VerboseOpt = Annotated[bool, typer.Option("-v", "--verbose", help="log every phase and step")]
MetricsOpt = Annotated[
    Path | None,
    typer.Option("--metrics-file", help="also write the results in Prometheus text format here"),
]
SignOpt = Annotated[
    Path | None,
    typer.Option("--sign", help="sign the evidence bundle with this SSH private key"),
]


def _scenario_names() -> list[str]:
    from drdrill.sim.scenarios import known_scenarios

    return known_scenarios()


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        # Without -v the live progress tells the operator where the drill is; the log then
        # carries only what went wrong (a step that failed, a fault that could not be lifted).
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    redact_log_handlers()


def _load_or_exit(path: Path) -> LoadedDrill:
    """Load a drill file, or print every problem and exit 2 before anything runs."""
    try:
        loaded = load_drill(path)
    except DrillFileError as exc:
        typer.echo(redact(str(exc)), err=True)
        raise typer.Exit(2) from None

    remember_secrets(drill_secrets(loaded.drill))

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
    from drdrill.drills.plan import render_plan

    typer.echo("\n".join(render_plan(loaded.drill)))


@app.command()
def run(
    file: FileArg,
    out: OutOpt = Path("runs"),
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
    metrics_file: MetricsOpt = None,
    sign: SignOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Run a drill file against real targets and measure it.

    Example: drdrill run examples/local.yaml --out runs/
    """
    loaded = _load_or_exit(file)
    if dry_run:
        from drdrill.drills.plan import render_plan

        typer.echo("\n".join(render_plan(loaded.drill)))
        raise typer.Exit(0)

    _confirm_run_and_report(loaded, yes, verbose, out, None, metrics_file, sign)


def _confirm_run_and_report(
    loaded: LoadedDrill,
    yes: bool,
    verbose: bool,
    out: Path,
    run_dir: Path | None,
    metrics_file: Path | None,
    sign: Path | None,
) -> None:
    """Ask for confirmation when a target is off loopback, run the drill, report, exit."""
    from drdrill.drills.confirm import confirmed

    if not confirmed(loaded.drill, yes, _ask):
        typer.echo("not confirmed: nothing was done (give --yes, or type the drill's name)",
                   err=True)
        raise typer.Exit(2)

    _setup_logging(verbose)
    from drdrill.drills.execute import execute_drill

    with _exit_2_on_interrupt():
        finished = asyncio.run(execute_drill(loaded, out, run_dir=run_dir))
        _report_and_exit(finished, metrics_file, sign)


def _ask(prompt: str) -> str | None:
    """Ask on the terminal; None when nothing can be typed (no input, or end of input)."""
    try:
        answer: str = typer.prompt(prompt, default="", show_default=False, err=True)
    except (typer.Abort, EOFError):
        return None
    return answer


@app.command()
def failover(
    file: FileArg,
    from_region: Annotated[str, typer.Option("--from", help="the region failed away from")],
    to_region: Annotated[str, typer.Option("--to", help="the region failed over to")],
    evidence: Annotated[Path, typer.Option(
        "--evidence", help="a new directory: the run's journal, reports and evidence bundle")],
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
    metrics_file: MetricsOpt = None,
    sign: SignOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Run a drill file as a failover from one region to another, for runbooks.

    The same drill as `run`, refused (exit 2) unless --from and --to are regions of the file
    and its failover steps act on --to. The run directory is --evidence itself: the journal,
    the reports and the evidence bundle (evidence.sha256) are left there.

    Example: drdrill failover --from us-east-1 --to eu-central-1 --evidence ev/ga FILE
    """
    from drdrill.drills.failover_regions import failover_region_problems

    loaded = _load_or_exit(file)
    problems = failover_region_problems(loaded.drill, from_region, to_region)
    for problem in problems:
        typer.echo(f"{file}: {problem}", err=True)
    if problems:
        raise typer.Exit(2)

    typer.echo(f"failover {from_region} -> {to_region}, evidence in {evidence}")
    if dry_run:
        from drdrill.drills.plan import render_plan

        typer.echo("\n".join(render_plan(loaded.drill)))
        raise typer.Exit(0)

    # One run per evidence directory: a bundle whose journal mixed two runs would prove nothing.
    if evidence.exists() and (not evidence.is_dir() or any(evidence.iterdir())):
        typer.echo(f"--evidence: {evidence} exists and is not an empty directory", err=True)
        raise typer.Exit(2)

    _confirm_run_and_report(loaded, yes, verbose, evidence.parent, evidence, metrics_file, sign)


@app.command()
def preflight(
    file: FileArg,
    seconds: Annotated[float, typer.Option(help="how long the probes run")] = 3.0,
    verbose: VerboseOpt = False,
) -> None:
    """Check that the drill could run; injects no fault and runs no step.

    The probes run for a few seconds, and every fault and step gets a read-only check of its
    target and permissions (for PostgreSQL, the standby is in recovery and the role may call
    pg_promote; for AWS, a DryRun where the API has one).

    Example: drdrill preflight examples/local.yaml --seconds 3
    """
    loaded = _load_or_exit(file)
    _setup_logging(verbose)
    from drdrill.drills.preflight import render_preflight, run_preflight

    found = asyncio.run(run_preflight(loaded.drill, seconds))
    typer.echo("\n".join(render_preflight(found)))
    raise typer.Exit(0 if found.ready else 2)


@app.command()
def simulate(
    scenario: Annotated[str, typer.Option(help="one of: " + ", ".join(_scenario_names()))] = (
        "kill-primary"
    ),
    out: OutOpt = Path("runs"),
    pause_seconds: Annotated[
        float,
        typer.Option(min=0.1, help="replication-paused, nats-link-cut: how long the link is cut"),
    ] = 3.0,
    lag_seconds: Annotated[
        float,
        typer.Option(min=0, help="clickhouse-replica-behind: how far the replica runs behind"),
    ] = 2.0,
    ttl: Annotated[
        float, typer.Option(min=0, help="dns-ttl: TTL of the flipped record, seconds")
    ] = 5.0,
    seconds: Annotated[
        float, typer.Option(min=0.1, help="partition: how long the cut lasts")
    ] = 4.0,
    components: Annotated[
        str | None,
        typer.Option(help="comma-separated parts to run (e.g. postgres); default: all"),
    ] = None,
    metrics_file: MetricsOpt = None,
    sign: SignOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Build two regions on loopback from real servers, run a drill on them, measure it.

    Example: drdrill simulate --scenario replication-paused --pause-seconds 3 --out runs/
    """
    _setup_logging(verbose)
    from drdrill.sim.scenarios import ScenarioOptions, known_scenarios
    from drdrill.sim.simulate import select_components
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
    names = [n.strip() for n in components.split(",")] if components else None
    try:
        parts = select_components(options, names)
    except ValueError as exc:
        typer.echo(f"--components: {exc}", err=True)
        raise typer.Exit(2) from None
    with _exit_2_on_interrupt():
        run_dir = asyncio.run(run_simulation(options, out, parts))
        _report_and_exit(run_dir, metrics_file, sign)


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="a run directory holding journal.jsonl")],
    metrics_file: MetricsOpt = None,
    sign: SignOpt = None,
) -> None:
    """Rebuild summary.json and report.md of a run from its journal alone.

    Example: drdrill report runs/local-sim-20261203T120000Z-4242
    """
    if not (run_dir / "journal.jsonl").is_file():
        typer.echo(f"{run_dir}: no journal.jsonl in this directory", err=True)
        raise typer.Exit(2)
    with _exit_2_on_interrupt():
        _report_and_exit(run_dir, metrics_file, sign)


def _report_and_exit(
    run_dir: Path | None, metrics_file: Path | None = None, sign: Path | None = None
) -> None:
    if run_dir is None:
        raise typer.Exit(2)

    from drdrill.journal.reader import JournalFormatError
    from drdrill.reports.build import build_reports, exit_code
    from drdrill.reports.console import print_outcome
    from drdrill.reports.outputs import OutputOptions

    options = OutputOptions(metrics_file=metrics_file, ssh_key=sign)
    try:
        summary: dict[str, Any] = build_reports(run_dir, options)
    except JournalFormatError as exc:
        typer.echo(f"{run_dir / 'journal.jsonl'}: cannot be measured: {exc}", err=True)
        raise typer.Exit(2) from None
    print_outcome(summary, run_dir)
    raise typer.Exit(exit_code(summary))


RunDirArg = Annotated[Path, typer.Argument(help="a run directory", show_default=False)]


@app.command()
def verify(
    run_dir: RunDirArg,
    key: Annotated[Path | None, typer.Option(
        "--key", help="the signer's SSH public key (.pub) the signature must match")] = None,
    allowed_signers: Annotated[Path | None, typer.Option(
        "--allowed-signers", help="an OpenSSH allowed_signers file naming trusted keys")] = None,
    gpg_homedir: Annotated[Path | None, typer.Option(
        "--gpg-homedir", help="GnuPG home whose keyring checks a .asc signature")] = None,
) -> None:
    """Check a run's evidence bundle: every file's hash, and the signature of the hash list.

    Exit 0 intact, 1 a file changed or missing or a signature invalid, 2 no bundle to check.
    Example: drdrill verify runs/local-sim-20261203T120000Z-4242 --key signer.pub
    """
    from drdrill.reports.signing import SigningError
    from drdrill.reports.verify import EvidenceMissing, verify_evidence

    try:
        result = verify_evidence(run_dir, allowed_signers=allowed_signers, public_key=key,
                                 gpg_homedir=gpg_homedir)
    except (EvidenceMissing, SigningError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None

    for name in result.matched:
        typer.echo(f"ok        {name}")
    for name in result.changed:
        typer.echo(f"CHANGED   {name}: its sha256 differs from evidence.sha256")
    for name in result.missing:
        typer.echo(f"MISSING   {name}")
    for name in result.unlisted:
        typer.echo(f"unlisted  {name}: present but not covered by evidence.sha256")
    for check in result.signatures:
        state = "valid" if check.valid else "INVALID"
        typer.echo(f"signature {check.file} ({check.kind}): {state}: {check.detail}")
    for problem in result.problems:
        typer.echo(f"problem   {problem}")

    if not result.ok:
        problems = [problem.split(":")[0] for problem in result.problems]
        named = ", ".join(result.changed + result.missing + problems) or "the signature"
        typer.echo(f"evidence NOT intact: {named}", err=True)
        raise typer.Exit(1)
    typer.echo("evidence intact")


@app.command()
def sign(
    run_dir: RunDirArg,
    key: Annotated[Path | None, typer.Option(
        "--key", help="SSH private key to sign with (ssh-keygen -Y sign)")] = None,
    gpg_key: Annotated[str | None, typer.Option(
        "--gpg-key", help="GnuPG key id to sign with (needs gpg)")] = None,
    gpg_homedir: Annotated[Path | None, typer.Option("--gpg-homedir")] = None,
) -> None:
    """Sign a run's evidence.sha256, after checking that the bundle is unchanged.

    Example: drdrill sign runs/local-sim-20261203T120000Z-4242 --key ~/.ssh/id_ed25519
    """
    from drdrill.reports.evidence import EVIDENCE_NAME
    from drdrill.reports.signing import SigningError, gpg_sign, ssh_sign
    from drdrill.reports.verify import EvidenceMissing, verify_evidence

    if key is None and gpg_key is None:
        typer.echo("sign: give --key (SSH) or --gpg-key (GnuPG)", err=True)
        raise typer.Exit(2)

    try:
        result = verify_evidence(run_dir)
        if result.changed or result.missing or result.problems:
            typer.echo(f"sign: refusing to sign a changed bundle: "
                       f"{', '.join(result.changed + result.missing + result.problems)}", err=True)
            raise typer.Exit(1)
        if key is not None:
            typer.echo(f"signed: {ssh_sign(run_dir / EVIDENCE_NAME, key)}")
        if gpg_key is not None:
            typer.echo(f"signed: {gpg_sign(run_dir / EVIDENCE_NAME, gpg_key, gpg_homedir)}")
    except (EvidenceMissing, SigningError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


@app.command()
def compare(
    run_dirs: Annotated[list[Path], typer.Argument(help="run directories", show_default=False)],
    fail_if_worse: Annotated[float | None, typer.Option(
        "--fail-if-worse", metavar="PERCENT",
        help="exit 1 when the newest run's RTO or RPO exceeds the previous one's by more")] = None,
) -> None:
    """RTO, RPO and lost writes across runs, oldest first (by each run's UTC start).

    Example: drdrill compare runs/* --fail-if-worse 20
    """
    from rich.console import Console

    from drdrill.reports.compare import NotARunDir, load_runs, regressions, trend_table

    try:
        rows = load_runs(run_dirs)
    except NotARunDir as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None

    console = Console()
    if not console.is_terminal:
        console.width = 200  # a CI log: keep each run on one line
    console.print(trend_table(rows))
    if len({row.drill for row in rows}) > 1:
        typer.echo("warning: these runs are of different drills", err=True)
    if fail_if_worse is None:
        return

    worse = regressions(rows, fail_if_worse)
    for line in worse:
        typer.echo(f"regressed: {line}")
    if worse:
        raise typer.Exit(1)
    typer.echo(f"no regression of more than {fail_if_worse:g}% against the previous run")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


@contextlib.contextmanager
def _exit_2_on_interrupt() -> Iterator[None]:
    """Ctrl-C or SIGTERM outside a drill's phases (server start-up, reports): exit 2.

    The drill's own phases turn an interrupt into an abort with rollback; around them, what
    was started is stopped by the code being interrupted, and the exit code still says that
    the run did not finish.
    """
    try:
        yield
    except KeyboardInterrupt:
        typer.echo("interrupted: whatever was started has been stopped; a run directory left"
                   " behind can be measured with `drdrill report RUN_DIR`", err=True)
        raise typer.Exit(2) from None


def main() -> None:
    """Entry point of the `drdrill` console script.

    A SIGINT ignored by a parent shell (a background job) is honoured again, and SIGTERM is
    an interrupt like Ctrl-C, so that both stop drdrill the same safe way.
    """
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    app()
