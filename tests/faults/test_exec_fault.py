"""The exec fault: an argument list with a timeout, run without a shell, killed with its
children when its time is up, its env values never shown."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import pytest

from drdrill.drills import step_catalog  # noqa: F401 - registers every kind
from drdrill.drills.checks import CheckStatus, preflight_check
from drdrill.drills.faults import build_fault
from drdrill.drills.faults_exec import run_command
from drdrill.drills.loader import parse_drill
from drdrill.drills.schema import ExecFault
from drdrill.errors import FaultError

pytestmark = pytest.mark.timeout(30)

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


async def test_inject_and_lift_run_their_argument_lists(tmp_path: Path) -> None:
    marker = tmp_path / "cut"
    spec = ExecFault.model_validate({
        "kind": "exec", "label": "cut the link",
        "argv": _python(f"open({str(marker)!r}, 'w').write('$HOME;x')"),
        "lift_argv": _python(f"import os; os.remove({str(marker)!r})"),
        "duration_seconds": 2,
    })
    fault = build_fault(spec)

    await fault.inject()
    assert marker.read_text() == "$HOME;x"  # no shell: nothing was expanded
    await fault.lift()
    assert not marker.exists()
    assert fault.lift_after == 2
    assert fault.target.startswith(f"cut the link: {sys.executable} -c ")


async def test_env_reaches_the_command_and_never_its_error(tmp_path: Path) -> None:
    spec = ExecFault.model_validate({
        "kind": "exec", "label": "leaky",
        "argv": _python("import os, sys; sys.stderr.write('key ' + os.environ['AWS_SECRET']);"
                        " sys.exit(3)"),
        "env": {"AWS_SECRET": SECRET},
    })
    fault = build_fault(spec)

    with pytest.raises(FaultError) as caught:
        await fault.inject()
    assert SECRET not in str(caught.value)
    assert str(caught.value).endswith("exited with 3: key ***")


async def test_timeout_kills_the_command_and_its_children(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    # The command starts a child that would outlive it, then hangs.
    code = ("import subprocess, sys, time;"
            " child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']);"
            f" open({str(pid_file)!r}, 'w').write(str(child.pid)); time.sleep(60)")
    started = time.monotonic()
    with pytest.raises(FaultError) as caught:
        await run_command(_python(code), timeout_s=1.5, what="hang")
    assert 1.5 <= time.monotonic() - started < 5
    assert str(caught.value).startswith("hang: ")
    assert str(caught.value).endswith(" timed out after 1.5 s")

    child = int(pid_file.read_text())
    for _ in range(100):  # SIGKILL is delivered at once; the kernel may take a moment
        if not _alive(child):
            break
        await asyncio.sleep(0.05)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


async def test_a_missing_program_is_a_fault_error_and_fails_preflight() -> None:
    with pytest.raises(FaultError) as caught:
        await run_command(["/nonexistent/tool", "x"], timeout_s=5, what="exec x")
    assert str(caught.value) == "exec x: cannot run '/nonexistent/tool': No such file or directory"

    drill = parse_drill("t.yaml", {
        "name": "t", "objectives": {},
        "regions": {"r": {"postgres": {"dsn": "postgresql://drill@127.0.0.1:1/drill"}}},
        "probes": [{"name": "p", "kind": "postgres.write", "target": "r.postgres"}],
        "fault": {"kind": "exec", "label": "x", "argv": [sys.executable, "-V"],
                  "lift_argv": ["no-such-program-here"]},
    })
    check = preflight_check("exec")
    assert check is not None
    result = await check(drill.faults[0], drill)
    assert (result.status, result.detail) == (
        CheckStatus.FAILED,
        "'no-such-program-here' is not an executable file nor a program on PATH",
    )
