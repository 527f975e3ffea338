"""The compose file's NATS and AWS parts, run for real with the binaries the simulator uses.

NATS: the two servers start from compose/nats/*.conf (only the ports, the store directory and
the leafnode's host changed, since the containers' fixed ports and names do not exist here),
the stream and its mirror are created from the JSON files with the JetStream API requests
that compose/nats/setup.sh sends, and the example drill's nats.promote_mirror step promotes
the mirror after the origin's server is killed.

AWS: compose/aws/zone.py, run against moto's server, creates the zone with the id that
examples/compose.yaml names; the example's route53.flip step then flips its record.
"""

from __future__ import annotations

import asyncio
import copy
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import nats
import nats.errors
import pytest
import yaml

from drdrill.drills import step_catalog  # noqa: F401 - registers every step kind
from drdrill.drills.schema import DrillFile
from drdrill.drills.steps import StepContext, step_runner
from drdrill.probes.base import Outcome, Probe
from drdrill.probes.catalog import build_probe
from drdrill.sim.natsnode import find_nats_server
from drdrill.sim.procs import ManagedProcess, free_port
from drdrill.sim.web_servers import dummy_aws_credentials

pytestmark = pytest.mark.timeout(90)

ROOT = Path(__file__).parents[2]
EXAMPLE = yaml.safe_load((ROOT / "examples" / "compose.yaml").read_text())


@pytest.fixture
def workdir() -> Iterator[Path]:
    # Not pytest's tmp_path: its parent is mode 0700, which the unprivileged server user
    # could not traverse; and writable by that user, who creates the servers' stores here.
    path = Path(tempfile.mkdtemp(prefix="drdrill-compose-"))
    path.chmod(0o777)
    yield path
    shutil.rmtree(path)


def _replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} is not in the config exactly once"
    return text.replace(old, new)


def _nats_config(workdir: Path, name: str, ports: dict[str, int]) -> Path:
    """compose/nats/<name>.conf with this machine's free ports and a store in `workdir`."""
    text = (ROOT / "compose" / "nats" / f"{name}.conf").read_text()
    text = _replace_once(text, f"port: {ports['compose']}\n", f"port: {ports['client']}\n")
    text = _replace_once(text, "http_port: 8222", f"http_port: {ports['http']}")
    text = _replace_once(text, "store_dir: /data/jetstream", f"store_dir: {workdir / name}")
    if name == "nats-us":
        text = _replace_once(text, "port: 7422", f"port: {ports['leaf']}")
    else:
        text = _replace_once(text, "nats-leaf://nats-us:7422",
                             f"nats-leaf://127.0.0.1:{ports['leaf']}")
    path = workdir / f"{name}.conf"
    path.write_text(text)
    return path


async def _connected(url: str, process: ManagedProcess) -> nats.NATS:
    deadline = time.monotonic() + 20.0
    while True:
        assert process.is_running, process.log_tail()
        try:
            return await nats.connect(url, allow_reconnect=False, connect_timeout=1)
        except (OSError, TimeoutError, nats.errors.Error):
            assert time.monotonic() < deadline, process.log_tail()
            await asyncio.sleep(0.1)


async def _create_stream(url: str, process: ManagedProcess, config: str) -> dict[str, Any]:
    """What setup.sh does: the JetStream create request with the JSON file, retried until the
    server's JetStream answers; returns the reply."""
    body = (ROOT / "compose" / "nats" / config).read_bytes()
    nc = await _connected(url, process)
    try:
        deadline = time.monotonic() + 20.0
        while True:
            try:
                reply = await nc.request("$JS.API.STREAM.CREATE.HEARTBEAT", body, timeout=2)
            except nats.errors.NoRespondersError:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.1)
                continue
            answer: dict[str, Any] = yaml.safe_load(reply.data)
            return answer
    finally:
        await nc.close()


def _nats_drill(us_url: str, eu_url: str) -> DrillFile:
    """The example drill reduced to its NATS targets, probe and step, at this test's URLs."""
    data = copy.deepcopy(EXAMPLE)
    data["regions"] = {"us-east-1": {"nats": {**data["regions"]["us-east-1"]["nats"],
                                              "url": us_url}},
                       "eu-central-1": {"nats": {**data["regions"]["eu-central-1"]["nats"],
                                                 "url": eu_url}}}
    data["probes"] = [p for p in data["probes"] if p["kind"].startswith("nats.")]
    data["failover"] = [s for s in data["failover"] if s["kind"] == "nats.promote_mirror"]
    data["fault"] = {"kind": "process.kill", "label": "us-east-1.nats", "pid": 1}
    data.pop("rollback")
    return DrillFile.model_validate(data)


async def test_the_mirror_follows_its_stream_and_the_example_step_promotes_it(
    workdir: Path,
) -> None:
    binary = str(find_nats_server())
    leaf = free_port()
    us_ports = {"compose": 14222, "client": free_port(), "http": free_port(), "leaf": leaf}
    eu_ports = {"compose": 14223, "client": free_port(), "http": free_port(), "leaf": leaf}
    us_url, eu_url = f"nats://127.0.0.1:{us_ports['client']}", \
        f"nats://127.0.0.1:{eu_ports['client']}"
    us = ManagedProcess.start("nats-us", [binary, "-c", str(_nats_config(workdir, "nats-us",
                                                                        us_ports))],
                              log_dir=workdir, run_as_unprivileged=True)
    eu = ManagedProcess.start("nats-eu", [binary, "-c", str(_nats_config(workdir, "nats-eu",
                                                                        eu_ports))],
                              log_dir=workdir, run_as_unprivileged=True)
    probe: Probe | None = None
    try:
        origin = await _create_stream(us_url, us, "heartbeat.json")
        mirror = await _create_stream(eu_url, eu, "heartbeat-mirror.json")
        drill = _nats_drill(us_url, eu_url)
        probes = {spec.name: build_probe(spec, drill.target(spec.target), "run-compose")
                  for spec in drill.probes}
        probe = probes["nats-write"]
        written = [await probe.op(seq) for seq in range(5)]
        await _until_mirrored(eu_url, eu, 5)
        us.kill()
        await asyncio.sleep(0.2)  # the probe's client sees its connection close

        step = drill.failover[0]
        result = await step_runner(step.kind)(step, StepContext(drill, probes))
        after = [await probe.op(seq) for seq in (5, 6)]
        read = await probe.final_read()  # type: ignore[attr-defined]
    finally:
        if probe is not None:
            await probe.close()
        await eu.stop(10.0)
        await us.stop(10.0)

    assert "error" not in origin and "error" not in mirror
    assert origin["config"]["subjects"] == ["HEARTBEAT.>"]
    assert mirror["config"]["mirror"]["external"]["api"] == "$JS.us-east-1.API"
    assert [(r.outcome, r.value) for r in written] == [(Outcome.OK, n) for n in range(1, 6)]
    assert result.promotes == [{"store": "nats-write", "from": "us-east-1.nats",
                                "to": "eu-central-1.nats"}]
    assert (result.detail["mirrored"], result.detail["last_seq_at_promotion"],
            result.detail["subjects"]) == ("HEARTBEAT", 5, ["HEARTBEAT.>"])
    # Stream sequence 6 is the promotion's own publish, on a subject no heartbeat uses.
    assert [(r.outcome, r.value) for r in after] == [(Outcome.OK, 7), (Outcome.OK, 8)]
    assert (read.seqs.tolist(), read.target) == ([0, 1, 2, 3, 4, 5, 6], "eu-central-1.nats")


async def _until_mirrored(url: str, process: ManagedProcess, count: int) -> None:
    nc = await _connected(url, process)
    try:
        deadline = time.monotonic() + 20.0
        while (await nc.jetstream().stream_info("HEARTBEAT")).state.messages < count:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
    finally:
        await nc.close()


# --- the AWS API ------------------------------------------------------------------------------


def _wait_listening(port: int, process: ManagedProcess) -> None:
    deadline = time.monotonic() + 30.0
    while True:
        assert process.is_running, process.log_tail()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert time.monotonic() < deadline, process.log_tail()
            time.sleep(0.1)


def _zone_script(port: int, marker: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "MOTO_PORT": str(port), "ZONE_READY_MARKER": str(marker)}
    return subprocess.run([sys.executable, str(ROOT / "compose" / "aws" / "zone.py"), *args],
                          capture_output=True, text=True, env=env, timeout=60, check=False)


def _record(port: int, zone: str) -> list[tuple[str, str, int, list[str]]]:
    client = boto3.client("route53", endpoint_url=f"http://127.0.0.1:{port}",
                          region_name="us-east-1")
    sets = client.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
    return [(r["Name"], r["Type"], r["TTL"], [v["Value"] for v in r["ResourceRecords"]])
            for r in sets if r["Type"] == "CNAME"]


async def test_the_zone_script_creates_the_zone_the_example_names_and_the_flip_works(
    workdir: Path,
) -> None:
    port = free_port()
    moto = ManagedProcess.start("aws", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1",
                                        "-p", str(port)], log_dir=workdir)
    marker = workdir / "zone-ready"
    flip = next(step for step in EXAMPLE["failover"] if step["kind"] == "route53.flip")
    zone = flip["zone"]
    try:
        _wait_listening(port, moto)
        before_check = _zone_script(port, marker, "--check")
        created = _zone_script(port, marker)
        after_check = _zone_script(port, marker, "--check")
        with dummy_aws_credentials():
            before = _record(port, zone)
            result = await _run_flip(flip, port)
            after = _record(port, zone)
    finally:
        await moto.stop(10.0)

    assert before_check.returncode == 1
    assert (created.returncode, created.stdout, created.stderr) == \
        (0, f"zone: drill.test. created with id {zone}\n", "")
    assert after_check.returncode == 0
    assert before == [("api.drill.test.", "CNAME", 60, ["api.us-east-1.drill.test"])]
    assert after == [("api.drill.test.", "CNAME", 60, ["api.eu-central-1.drill.test"])]
    assert result.detail["zone"] == zone


async def _run_flip(flip: dict[str, Any], port: int) -> Any:
    data = copy.deepcopy(EXAMPLE)
    step = {**flip, "aws": {**flip["aws"], "endpoint_url": f"http://127.0.0.1:{port}"}}
    data["failover"] = [step]
    drill = DrillFile.model_validate(data)
    spec = drill.failover[0]
    return await step_runner(spec.kind)(spec, StepContext(drill, {}))
