"""Run one drill as the main task of the process, with Ctrl-C and SIGTERM turned into aborts."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from drdrill.drills.interrupts import install_abort_handlers
from drdrill.drills.loader import LoadedDrill
from drdrill.drills.runner import DrillHooks, DrillRun, default_run_dir
from drdrill.reports.progress import make_progress

logger = logging.getLogger(__name__)


async def execute_drill(
    loaded: LoadedDrill,
    out: Path,
    hooks: DrillHooks | None = None,
    run_dir: Path | None = None,
) -> Path:
    """Run the drill to its end (completed or aborted); returns its run directory."""
    with make_progress() as progress:
        run = DrillRun(loaded, run_dir or default_run_dir(out, loaded.drill.name),
                       hooks or DrillHooks(), on_progress=progress)
        task = asyncio.create_task(run.run(), name=f"drill-{run.run_id}")
        install_abort_handlers(task)
        result = await task
    logger.info("run %s %s: %s", result.run_id, result.status, result.run_dir)
    return result.run_dir
