"""ManagedProcess against real child processes: stop escalation, tree-wide pause, the
unprivileged user, and stop_all (run in a child interpreter, so that it cannot stop servers
that other test modules of this run share)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import drdrill
from drdrill.proctree import descendants, is_dead, stat_fields
from drdrill.sim.procs import ManagedProcess, free_port, server_user

pytestmark = pytest.mark.timeout(20)

_IGNORES_SIGTERM = (
    "import signal, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "print('ready', flush=True)\n"
    "time.sleep(60)\n"
)


@pytest.fixture
def started() -> Iterator[list[ManagedProcess]]:
    """Processes a test started; killed afterwards whatever the test did."""
    processes: list[ManagedProcess] = []
    yield processes
    for process in processes:
        process.kill()


def _wait_for_line(process: ManagedProcess, line: str) -> None:
    deadline = time.monotonic() + 5
    while line not in process.log_path.read_text().splitlines():
        assert time.monotonic() < deadline, f"{process.name} never logged {line!r}"
        time.sleep(0.01)


def _state(pid: int) -> str:
    return stat_fields(pid)[0]


def _settled_state(pid: int) -> str:
    """The state of `pid` once it is no longer T (stopped) or R (running briefly after
    SIGCONT), or after 2 s: both processes of the tree sleep when left alone."""
    deadline = time.monotonic() + 2
    while _state(pid) in ("T", "R") and time.monotonic() < deadline:
        time.sleep(0.005)
    return _state(pid)


def test_terminate_escalates_to_sigkill(tmp_path: Path, started: list[ManagedProcess]) -> None:
    process = ManagedProcess.start(
        "stubborn", [sys.executable, "-c", _IGNORES_SIGTERM], log_dir=tmp_path
    )
    started.append(process)
    _wait_for_line(process, "ready")

    code = process.terminate(timeout=0.3)

    assert code == -9
    assert process.is_running is False


def test_pause_and_resume_reach_the_whole_tree(
    tmp_path: Path, started: list[ManagedProcess]
) -> None:
    process = ManagedProcess.start(
        "tree", ["sh", "-c", "sleep 60 & echo ready; wait"], log_dir=tmp_path
    )
    started.append(process)
    _wait_for_line(process, "ready")
    [worker] = descendants(process.pid)

    process.pause()
    paused = [_state(pid) for pid in (process.pid, worker)]
    paused_flag = process.is_paused
    process.resume()
    resumed = [_settled_state(pid) for pid in (process.pid, worker)]
    resumed_flag = process.is_paused
    process.kill()

    assert (paused, paused_flag) == (["T", "T"], True)
    assert (resumed, resumed_flag) == (["S", "S"], False)
    assert process.returncode == -9
    assert is_dead(worker)


def test_children_run_as_the_server_user(tmp_path: Path, started: list[ManagedProcess]) -> None:
    owner = server_user()
    process = ManagedProcess.start(
        "whoami", ["sh", "-c", "id -u; id -G"], log_dir=tmp_path, run_as_unprivileged=True
    )
    started.append(process)

    code = process.wait(timeout=5)

    # As root: nobody's uid and gid alone, root's supplementary groups dropped. Otherwise
    # the child is exactly who we are.
    as_us = subprocess.run(["sh", "-c", "id -u; id -G"], capture_output=True, text=True)
    expected = [str(owner[0]), str(owner[1])] if owner else as_us.stdout.splitlines()
    assert code == 0
    assert process.log_path.read_text().splitlines()[1:] == expected


def test_free_port_is_bindable() -> None:
    port = free_port()

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        assert sock.getsockname() == ("127.0.0.1", port)


_STOP_ALL = """
import json, sys, time
from pathlib import Path
from drdrill.sim.procs import ManagedProcess, live_processes, stop_all

log_dir = Path(sys.argv[1])
polite = ManagedProcess.start("polite", ["sleep", "60"], log_dir=log_dir)
stubborn = ManagedProcess.start("stubborn", [sys.executable, "-c", sys.argv[2]], log_dir=log_dir)
paused = ManagedProcess.start("paused", ["sleep", "60"], log_dir=log_dir)
while "ready" not in (log_dir / "stubborn.log").read_text().splitlines():
    time.sleep(0.01)
paused.pause()
stop_all(timeout=0.5)
print(json.dumps({
    "codes": [p.returncode for p in (polite, stubborn, paused)],
    "live": len(live_processes()),
}))
"""


def test_stop_all_stops_polite_stubborn_and_paused_processes(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(drdrill.__file__).parents[1])}

    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_STOP_ALL), str(tmp_path), _IGNORES_SIGTERM],
        capture_output=True,
        env=env,
        check=True,
        timeout=15,
    )

    assert json.loads(result.stdout) == {"codes": [-15, -9, -15], "live": 0}
