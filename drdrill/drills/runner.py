"""The drill runner: preflight, baseline, fault, failover, recovery, verification, teardown.

Every phase is journaled as it starts, every op as it completes, so a crash or Ctrl-C still
leaves a journal to measure. Whatever happens after the fault was injected, the fault is lifted
and, on abort, the rollback steps run before the journal is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drdrill.clock import ClockMapping, now_ns
from drdrill.drills import step_catalog  # noqa: F401 - registers every kind
from drdrill.drills.faults import Fault, build_fault
from drdrill.drills.header import run_header
from drdrill.drills.interrupts import refuse_interrupts, uncancel
from drdrill.drills.live import LiveProbe, check_baseline
from drdrill.drills.loader import LoadedDrill
from drdrill.drills.secrets import RedactingJournalWriter, drill_secrets
from drdrill.drills.steps import StepContext, step_label, step_runner
from drdrill.errors import AbortDrill, DrdrillError
from drdrill.journal.writer import JOURNAL_NAME
from drdrill.probes.base import Probe, WriteProbe, seqs_to_ranges
from drdrill.probes.catalog import build_probe
from drdrill.probes.ticker import OpRecord, Ticker, staggered_start
from drdrill.redact import remember_secrets

logger = logging.getLogger(__name__)

# How long a final read or a probe's open may take before the drill gives up on it.
FINAL_READ_TIMEOUT_S = 60.0
OPEN_TIMEOUT_S = 15.0


class DrillHooks:
    """Points where the simulator acts beside the drill; a real drill uses these no-ops."""

    def header(self) -> dict[str, Any] | None:
        """Facts for the journal's `run` record (`sim`)."""
        return None

    async def before_fault(self, drill: DrillRun) -> None:
        """Runs at the end of the baseline, just before the fault is injected."""

    async def after_fault(self, drill: DrillRun) -> None:
        """Runs just after T0, before the failover steps."""

    async def truth(self, drill: DrillRun) -> list[dict[str, Any]]:
        """`truth` records worked out independently of the probes (simulator only)."""
        return []


@dataclass
class RunResult:
    """Where the run's files are and how it ended."""

    run_dir: Path
    run_id: str
    status: str
    reason: str | None = None


@dataclass
class DrillRun:
    """One execution of a drill file, from its journal header to its `end` record."""

    loaded: LoadedDrill
    run_dir: Path
    hooks: DrillHooks = field(default_factory=DrillHooks)
    on_progress: Callable[[DrillRun], None] | None = None
    run_id: str = ""
    phase: str = "init"
    t0_ns: int | None = None

    def __post_init__(self) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        self.run_id = self.run_id or f"{stamp}-{secrets.token_hex(3)}"
        self.run_dir.mkdir(parents=True, exist_ok=True)
        drill = self.loaded.drill
        # Known before anything is written, so that no record, note or log line shows them.
        remember_secrets(drill_secrets(drill))
        self.journal = RedactingJournalWriter(self.run_dir / JOURNAL_NAME)
        self.clock = ClockMapping.take()
        self.probes: dict[str, Probe] = {
            spec.name: build_probe(spec, drill.target(spec.target), self.run_id)
            for spec in drill.probes
        }
        self.live = {spec.name: LiveProbe(spec.name, spec.critical) for spec in drill.probes}
        self._faults: list[Fault] = []
        self._lifted: set[int] = set()
        self._background: list[asyncio.Future[None]] = []
        self._stop_ticking = asyncio.Event()
        self._tickers: list[asyncio.Task[None]] = []
        self._rolling_back = False

    # --- journal helpers ---------------------------------------------------------------------

    def mark_phase(self, name: str) -> None:
        """Journal a phase mark and flush the journal to disk."""
        self.phase = name
        self.journal.write_now({"k": "phase", "name": name, "t": now_ns()}, sync=True)
        logger.info("phase started phase=%s run_id=%s", name, self.run_id)
        self._progress()

    def note(self, level: str, msg: str) -> None:
        """Journal a note for the operator and log it."""
        self.journal.write_now({"k": "note", "t": now_ns(), "level": level, "msg": msg})
        logger.log(logging.WARNING if level == "warning" else logging.INFO, "%s", msg)

    def _on_op(self, op: OpRecord) -> None:
        self.journal.write(op.as_journal())
        self.live[op.probe].record(op, self.t0_ns)

    def _on_late(self, probe: str, first: int, last: int, t: int) -> None:
        self.journal.write({"k": "late", "p": probe, "from": first, "to": last, "t": t})

    def _progress(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self)

    # --- the phases --------------------------------------------------------------------------

    async def run(self) -> RunResult:
        """Run every phase; on Ctrl-C, SIGTERM or a guardrail, abort safely."""
        self.journal.write_now(run_header(self, self.hooks.header()), sync=True)
        self.journal.start_flusher()
        try:
            await self._run_phases()
        except (AbortDrill, asyncio.CancelledError) as exc:
            if isinstance(exc, asyncio.CancelledError):
                uncancel()
            interrupted = "interrupted (Ctrl-C or SIGTERM)"
            reason = exc.reason if isinstance(exc, AbortDrill) else interrupted
            await self._abort(reason)
            return RunResult(self.run_dir, self.run_id, "aborted", reason)
        except DrdrillError as exc:
            await self._abort(f"could not run: {exc}")
            return RunResult(self.run_dir, self.run_id, "aborted", str(exc))
        finally:
            await self._close_probes()

        await self._finish("completed", None)
        return RunResult(self.run_dir, self.run_id, "completed")

    async def _run_phases(self) -> None:
        drill = self.loaded.drill

        self.mark_phase("preflight")
        await self._open_probes()

        self.mark_phase("baseline")
        self._start_tickers()
        await asyncio.sleep(drill.baseline_seconds)
        self._check_baseline()
        await self.hooks.before_fault(self)

        self.mark_phase("fault")
        await self._inject_faults()
        await self.hooks.after_fault(self)

        self.mark_phase("failover")
        for spec in drill.failover:
            await self.run_step(spec)

        self.mark_phase("recovery")
        await self._await_recovery()
        await self._stop_tickers()

        self.mark_phase("verification")
        await self._final_reads()
        for record in await self.hooks.truth(self):
            self.journal.write(record)

        if drill.failback:
            self.mark_phase("failback")
            for spec in drill.failback:
                await self.run_step(spec)

        self.mark_phase("teardown")
        await self._lift_faults()

    async def _open_probes(self) -> None:
        """Open every probe; a write probe that cannot prepare its store stops the drill."""
        for probe in self.probes.values():
            try:
                await asyncio.wait_for(probe.open(), OPEN_TIMEOUT_S)
            except Exception as exc:  # the driver's, translated into our words here
                raise AbortDrill(
                    f"preflight: probe {probe.name} cannot reach {probe.route.name}: {exc!r}"
                ) from exc
            logger.info("probe opened probe=%s target=%s", probe.name, probe.route.name)

    def _start_tickers(self) -> None:
        start = now_ns() + 20_000_000
        probes = self.loaded.drill.probes
        for index, spec in enumerate(probes):
            interval_ns = spec.interval_ms * 1_000_000
            first_due = staggered_start(start, index, len(probes), interval_ns)
            ticker = Ticker(
                probe=self.probes[spec.name],
                interval_ns=interval_ns,
                timeout_s=spec.timeout_ms / 1000,
                on_op=self._on_op,
                on_late=self._on_late,
            )
            task = asyncio.create_task(ticker.run(first_due, self._stop_ticking), name=spec.name)
            self._tickers.append(task)

        for live in self.live.values():
            live.reset_counts()

    def _check_baseline(self) -> None:
        """Stop before the fault when a critical probe's baseline is not healthy."""
        check_baseline(self.live.values(), self.loaded.drill.guardrails)
        logger.info("baseline healthy run_id=%s", self.run_id)

    async def _inject_faults(self) -> None:
        """Inject every fault back to back; T0 is the instant the first one took effect."""
        for spec in self.loaded.drill.faults:
            fault = build_fault(spec)
            # Kept before the inject: one interrupted midway may have taken effect, so it is
            # lifted all the same, though the journal has no inject record for it.
            self._faults.append(fault)
            record: dict[str, Any] = {"k": "fault", "event": "inject", "kind": fault.kind,
                                      "target": fault.target}
            try:
                await fault.inject()
            except DrdrillError as exc:
                self.journal.write_now({**record, "t": now_ns(), "ok": False, "error": str(exc)})
                raise AbortDrill(f"fault {fault.kind} could not be injected: {exc}") from exc

            t = now_ns()
            self.t0_ns = self.t0_ns or t
            self.journal.write_now({**record, "t": t, "ok": True, "error": None}, sync=True)
            logger.info("fault injected kind=%s target=%s", fault.kind, fault.target)
            if fault.lift_after is not None:
                asyncio.get_running_loop().call_later(fault.lift_after, self._lift_later, fault)

    def _lift_later(self, fault: Fault) -> None:
        self._background.append(asyncio.ensure_future(self._lift(fault)))

    async def run_step(self, spec: Any) -> bool:
        """Run one step with its timeout, journaling start and end; True when it completed."""
        name = step_label(spec)
        target = getattr(spec, "target", None)
        base = {"k": "step", "name": name, "kind": spec.kind, "target": target}
        self.journal.write_now({**base, "event": "start", "t": now_ns()})
        logger.info("step started step=%s kind=%s target=%s", name, spec.kind, target)

        context = StepContext(self.loaded.drill, self.probes)
        error: str | None = None
        result = None
        try:
            async with asyncio.timeout(spec.timeout_seconds):
                result = await step_runner(spec.kind)(spec, context)
        except TimeoutError:
            error = f"timed out after {spec.timeout_seconds} s"
        except DrdrillError as exc:
            error = str(exc)

        end = {**base, "event": "end", "t": now_ns(), "ok": error is None, "error": error,
               "promotes": result.promotes if result else [],
               "detail": result.detail if result else {}}
        self.journal.write_now(end, sync=True)
        if error is None:
            logger.info("step complete step=%s", name)
        else:
            logger.error("step failed step=%s error=%s", name, error)
        self._progress()
        return error is None

    async def _await_recovery(self) -> None:
        """Wait until every critical probe has been ok for the stable window, or the budget."""
        drill = self.loaded.drill
        window_ns = int(drill.stable_window_seconds * 1e9)
        t0 = self.t0_ns or now_ns()
        deadline = t0 + int(drill.recovery_budget_seconds * 1e9)
        critical = [live for live in self.live.values() if live.critical] or list(
            self.live.values()
        )
        # A streak begun in the baseline proves nothing while an op sent after T0 hangs (a
        # blackholed link fails nothing until the op times out): the window of ok ops must
        # lie after T0.
        settled = t0 + window_ns
        while now_ns() < deadline:
            if all(live.stable_for(window_ns) and live.last_invoke_ns >= settled
                   for live in critical):
                logger.info("recovery complete run_id=%s", self.run_id)
                return
            self._progress()
            await asyncio.sleep(0.1)

        raise AbortDrill(
            f"RTO budget of {drill.recovery_budget_seconds} s exceeded: critical probes not stable"
        )

    async def _stop_tickers(self) -> None:
        self._stop_ticking.set()
        if self._tickers:
            await asyncio.gather(*self._tickers, return_exceptions=True)
        self._tickers.clear()
        self.journal.flush()

    async def _final_reads(self) -> None:
        """Read every heartbeat of the run back from each store's current target."""
        for probe in self.probes.values():
            if isinstance(probe, WriteProbe):
                self.journal.write_now(await self._final_read(probe))

    async def _final_read(self, probe: WriteProbe) -> dict[str, Any]:
        record: dict[str, Any] = {"k": "final_read", "store": probe.name,
                                  "target": probe.route.name}
        try:
            read = await asyncio.wait_for(probe.final_read(), FINAL_READ_TIMEOUT_S)
        except (DrdrillError, TimeoutError) as exc:
            logger.error("final read failed store=%s error=%s", probe.name, exc)
            return {**record, "t": now_ns(), "ok": False, "error": str(exc) or "timed out",
                    "ranges": [], "dups": [], "rows": 0}

        ranges, dups = seqs_to_ranges(read.seqs)
        logger.info("final read complete store=%s rows=%d", probe.name, read.seqs.size)
        return {**record, "t": now_ns(), "ok": True, "error": None, "ranges": ranges,
                "dups": dups, "rows": int(read.seqs.size)}

    # --- the end, normal or not --------------------------------------------------------------

    async def _lift_faults(self) -> None:
        """Lift every injected fault not lifted yet, in reverse order of injection."""
        # Lifts already started by their timer finish first, so none is left half done.
        await asyncio.gather(*self._background, return_exceptions=True)
        for fault in reversed(self._faults):
            await self._lift(fault)

    async def _lift(self, fault: Fault) -> None:
        if id(fault) in self._lifted:
            return

        self._lifted.add(id(fault))
        record = {"k": "fault", "event": "lift", "kind": fault.kind, "target": fault.target}
        try:
            await fault.lift()
        except asyncio.CancelledError:
            self._lifted.discard(id(fault))  # interrupted: the abort lifts it again
            raise
        except DrdrillError as exc:
            self.journal.write_now({**record, "t": now_ns(), "ok": False, "error": str(exc)})
            logger.error("fault lift failed kind=%s error=%s", fault.kind, exc)
            return
        self.journal.write_now({**record, "t": now_ns(), "ok": True, "error": None})
        logger.info("fault lifted kind=%s target=%s", fault.kind, fault.target)

    async def _abort(self, reason: str) -> None:
        """Lift the fault, run the rollback, close the journal; never interrupted itself."""
        self._rolling_back = True
        logger.error("drill aborting reason=%s", reason)
        self.note("error", f"aborted: {reason}")
        with refuse_interrupts():
            await self._abort_steps()
            await self._finish("aborted", reason)

    async def _abort_steps(self) -> None:
        await self._stop_tickers()
        await self._lift_faults()
        rollback = self.loaded.drill.rollback
        if rollback and self._faults:
            self.mark_phase("rollback")
            for spec in rollback:
                await self.run_step(spec)

    async def _close_probes(self) -> None:
        await self._stop_tickers()
        for probe in self.probes.values():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(probe.close(), 5)

    async def _finish(self, status: str, reason: str | None) -> None:
        self.journal.write({"k": "end", "t": now_ns(), "status": status, "reason": reason})
        await self.journal.aclose()
        logger.info("drill finished status=%s run_dir=%s", status, self.run_dir)


def default_run_dir(base: Path, drill_name: str) -> Path:
    """`base/<drill>-<utc stamp>-<pid>`: unique per run, sortable by time."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return base / f"{drill_name}-{stamp}-{os.getpid()}"
