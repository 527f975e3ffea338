"""compose.kill | pause | stop: the exact docker CLI argument lists, inject and lift (see
conftest: a recording script stands in for docker, as no Docker engine runs here)."""

from __future__ import annotations

import pytest
from cli_recorder import Recorder

from drdrill.drills import step_catalog  # noqa: F401 - registers every kind
from drdrill.drills.checks import CheckStatus, preflight_check
from drdrill.drills.faults import build_fault
from drdrill.drills.loader import parse_drill
from drdrill.drills.schema import ComposeFault
from drdrill.errors import FaultError

pytestmark = pytest.mark.timeout(30)


def _spec(recorder: Recorder, kind: str, **extra: object) -> ComposeFault:
    return ComposeFault.model_validate(
        {"kind": kind, "service": "db", "binary": str(recorder.path), **extra}
    )


@pytest.mark.parametrize(
    ("kind", "inject", "lift"),
    [
        ("compose.kill", ["compose", "kill", "db"], None),
        ("compose.pause", ["compose", "pause", "db"], ["compose", "unpause", "db"]),
        ("compose.stop", ["compose", "stop", "db"], ["compose", "start", "db"]),
    ],
)
async def test_inject_and_lift_run_these_argument_lists(
    recorder: Recorder, kind: str, inject: list[str], lift: list[str] | None
) -> None:
    fault = build_fault(_spec(recorder, kind))

    await fault.inject()
    assert recorder.calls() == [inject]
    await fault.lift()
    assert recorder.calls() == [inject] + ([lift] if lift else [])
    assert fault.target == "service db"


async def test_files_and_project_come_before_the_subcommand(recorder: Recorder) -> None:
    spec = _spec(recorder, "compose.pause", files=["a.yml", "b yml; rm -rf /"], project="dr",
                 duration_seconds=3)
    fault = build_fault(spec)

    await fault.inject()
    # One argument per value, whatever it holds: no shell ever sees the file name.
    assert recorder.calls() == [
        ["compose", "-f", "a.yml", "-f", "b yml; rm -rf /", "-p", "dr", "pause", "db"]
    ]
    assert fault.target == "service db (project dr, -f a.yml, -f b yml; rm -rf /)"
    assert fault.lift_after == 3


async def test_a_failing_cli_is_a_fault_error_quoting_its_stderr(recorder: Recorder) -> None:
    recorder.answer(("kill", "", 1))
    fault = build_fault(_spec(recorder, "compose.kill"))

    with pytest.raises(FaultError) as caught:
        await fault.inject()
    assert str(caught.value) == (
        f"compose.kill db: {recorder.path} compose kill db exited with 1: refused by rule kill"
    )


async def test_preflight_lists_running_services_and_changes_nothing(recorder: Recorder) -> None:
    drill = parse_drill("t.yaml", {
        "name": "t", "objectives": {},
        "regions": {"r": {"postgres": {"dsn": "postgresql://drill@127.0.0.1:1/drill"}}},
        "probes": [{"name": "p", "kind": "postgres.write", "target": "r.postgres"}],
        "fault": {"kind": "compose.stop", "service": "db", "binary": str(recorder.path)},
    })
    check = preflight_check("compose.stop")
    assert check is not None

    recorder.answer(("ps", "web\ndb\n", 0))
    result = await check(drill.faults[0], drill)
    assert (result.status, result.detail) == (CheckStatus.OK, "service db is running")

    recorder.answer(("ps", "web\n", 0))
    result = await check(drill.faults[0], drill)
    assert (result.status, result.detail) == (
        CheckStatus.FAILED, "service 'db' has no running container (running: ['web'])"
    )
    assert recorder.calls() == [["compose", "ps", "--status", "running", "--services"]] * 2
