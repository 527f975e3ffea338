"""Ctrl-C at each phase of a simulated drill: the fault is lifted, the rollback runs
(journaled), no server is left, the report says aborted and the exit code is 2. A second
Ctrl-C during the rollback is refused with a message."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import pytest_asyncio
import yaml

from drdrill.sim.pgcluster import PgPair
from drdrill.sim.procstate import live_processes_in

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]

DRDRILL = str(Path(sys.executable).with_name("drdrill"))
PHASES = ["preflight", "baseline", "fault", "failover", "recovery", "verification", "teardown"]


@pytest.fixture
def server_tmp() -> Iterator[Path]:
    """A TMPDIR the simulator's unprivileged servers can reach, to look for strays in."""
    path = Path(tempfile.mkdtemp(prefix="drdrill-abort-"))
    path.chmod(0o711)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _journal(out: Path) -> list[dict[str, Any]]:
    found = list(out.glob("*/journal.jsonl"))
    if not found:
        return []
    lines = found[0].read_bytes().splitlines(keepends=True)
    return [orjson.loads(line) for line in lines if line.endswith(b"\n")]


def _wait_for(out: Path, what: dict[str, str], deadline_s: float = 90) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if any(all(r.get(k) == v for k, v in what.items()) for r in _journal(out)):
            return
        time.sleep(0.005)
    raise TimeoutError(f"no {what} in the journal under {out}")


def _phase_at_abort(journal: list[dict[str, Any]]) -> str:
    """The phase in force when the abort was noted."""
    phase = "init"
    for record in journal:
        if record["k"] == "phase":
            phase = record["name"]
        if record["k"] == "note" and record["msg"].startswith("aborted:"):
            return phase
    raise AssertionError("no abort note in the journal")


@pytest.mark.parametrize("phase", PHASES[:-1])
def test_sigint_at_each_phase_lifts_rolls_back_and_leaves_nothing(
    phase: str, tmp_path: Path, server_tmp: Path
) -> None:
    out = tmp_path / "runs"
    process = subprocess.Popen(
        [DRDRILL, "simulate", "--scenario", "split-brain", "--components", "postgres",
         "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "TMPDIR": str(server_tmp)},
    )
    try:
        _wait_for(out, {"k": "phase", "name": phase})
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()

    assert process.returncode == 2, stderr[-3000:]
    journal = _journal(out)
    (run_dir,) = out.iterdir()
    summary = orjson.loads((run_dir / "summary.json").read_bytes())
    assert (summary["status"], summary["verdict"]) == ("aborted", "aborted")
    assert journal[-1]["k"] == "end" and journal[-1]["status"] == "aborted"
    assert journal[-1]["reason"] == "interrupted (Ctrl-C or SIGTERM)"
    # A signal sent right after a short phase began may land in the next one.
    hit = _phase_at_abort(journal)
    print(f"SIGINT sent at {phase}, abort noted in {hit}")
    assert hit in PHASES[PHASES.index(phase):PHASES.index(phase) + 2]

    injected = [r for r in journal if r["k"] == "fault" and r["event"] == "inject"]
    lifted = [r for r in journal if r["k"] == "fault" and r["event"] == "lift"]
    rollback = [r for r in journal if r["k"] == "step" and r["event"] == "end"
                and r["name"] == "heal-postgres-links"]
    if PHASES.index(hit) < PHASES.index("fault"):
        # Nothing was touched yet: nothing to lift, nothing to roll back.
        assert (injected, lifted, rollback) == ([], [], [])
    else:
        # Interrupted while injecting, the inject has no record of its own (it may or may
        # not have taken effect), but it is lifted all the same.
        assert len(injected) <= 1
        assert [(r["kind"], r["ok"]) for r in lifted] == [("proxy.partition", True)]
        assert [(r["ok"], r["detail"]["healed"]) for r in rollback] == [
            (True, ["pg-replication", "pg-primary-client", "pg-secondary-client"])
        ]
        phases = [r["name"] for r in journal if r["k"] == "phase"]
        assert phases[-1] == "rollback"
    assert live_processes_in(server_tmp) == []
    assert "verdict: aborted" in stdout


@pytest_asyncio.fixture
async def pair(server_tmp: Path) -> AsyncIterator[PgPair]:
    built = await PgPair.create(server_tmp / "pg")
    yield built
    await built.stop()


def test_sigint_in_teardown_relifts_and_a_second_one_is_refused(
    pair: PgPair, tmp_path: Path
) -> None:
    lifted = tmp_path / "lifted"
    # A lift that takes 1.5 s keeps the drill in its teardown long enough to interrupt it.
    lift = f"import time; time.sleep(1.5); open({str(lifted)!r}, 'a').write('lifted\\n')"
    drill = {
        "name": "slow-lift", "objectives": {"rto_seconds": 30},
        "baseline_seconds": 1, "stable_window_seconds": 1,
        "regions": {"primary": {"postgres": {"dsn": pair.primary.dsn}}},
        "probes": [{"name": "pg-write", "kind": "postgres.write", "target": "primary.postgres",
                    "critical": True}],
        "fault": {"kind": "exec", "label": "slow", "argv": [sys.executable, "-c", "pass"],
                  "lift_argv": [sys.executable, "-c", lift]},
        "rollback": [{"kind": "sleep", "name": "settle", "seconds": 2}],
    }
    drill_file = tmp_path / "drill.yaml"
    drill_file.write_text(yaml.safe_dump(drill))
    out = tmp_path / "runs"
    process = subprocess.Popen([DRDRILL, "run", str(drill_file), "--yes", "--out", str(out)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(out, {"k": "phase", "name": "teardown"})
        time.sleep(0.3)  # inside the lift's sleep
        process.send_signal(signal.SIGINT)
        _wait_for(out, {"k": "phase", "name": "rollback"})
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()

    assert process.returncode == 2, stderr[-3000:]
    assert "rollback in progress: not stopping now; the drill ends when it is done" in stderr
    journal = _journal(out)
    assert _phase_at_abort(journal) == "teardown"
    # The interrupted lift was run again, to its end, and journaled once.
    assert [(r["event"], r["ok"]) for r in journal if r["k"] == "fault"] == [
        ("inject", True), ("lift", True)
    ]
    assert lifted.read_text() == "lifted\n"
    assert [(r["name"], r["ok"]) for r in journal
            if r["k"] == "step" and r["event"] == "end"] == [("settle", True)]
    assert (journal[-1]["k"], journal[-1]["status"]) == ("end", "aborted")
    assert "verdict: aborted" in stdout
