"""The NATS probes against real nats-server processes: outcomes of a publish, the final read
with its duplicates, the mirror's position, following a switch."""

from __future__ import annotations

import asyncio
import time

import nats
import pytest
from conftest import stream_name
from nats.js.api import StreamConfig

from drdrill.drills.schema import NatsMirrorProbe as MirrorSpec
from drdrill.drills.schema import NatsTarget
from drdrill.drills.schema import NatsWriteProbe as WriteSpec
from drdrill.errors import TargetError
from drdrill.probes.base import Outcome, Route
from drdrill.probes.nats import NatsMirrorProbe, NatsWriteProbe
from drdrill.sim.natsnode import NatsPair
from drdrill.sim.procs import free_port
from drdrill.sim.proxy import FaultProxy, Link

pytestmark = pytest.mark.timeout(60)


def _write_probe(url: str, stream: str, run_id: str, timeout_ms: int = 1000) -> NatsWriteProbe:
    spec = WriteSpec(name="w", kind="nats.write", target="a.nats", timeout_ms=timeout_ms)
    return NatsWriteProbe(spec, Route("a.nats", NatsTarget(url=url, stream=stream)), run_id)


def _mirror_probe(url: str, stream: str, run_id: str) -> NatsMirrorProbe:
    spec = MirrorSpec(name="m", kind="nats.mirror", target="b.nats", watches="w")
    return NatsMirrorProbe(spec, Route("b.nats", NatsTarget(url=url, stream=stream)), run_id)


async def _add_stream(url: str, name: str, duplicate_window: float = 0) -> None:
    nc = await nats.connect(url)
    try:
        await nc.jetstream().add_stream(
            StreamConfig(name=name, subjects=[f"{name}.>"], duplicate_window=duplicate_window)
        )
    finally:
        await nc.close()


async def _via_proxy(proxy: FaultProxy, url: str) -> tuple[Link, str]:
    port = int(url.rsplit(":", 1)[1])
    link = await proxy.add_link("client", upstream=("127.0.0.1", port))
    return link, f"nats://127.0.0.1:{link.listen_port}"


async def test_acked_writes_carry_their_stream_sequence_and_read_back(pair: NatsPair) -> None:
    stream = stream_name()
    await _add_stream(pair.origin.url, stream)
    probe = _write_probe(pair.origin.url, stream, "run-ok")
    await probe.open()

    results = [await probe.op(seq) for seq in range(5)]
    read = await probe.final_read()
    await probe.close()

    assert [r.outcome for r in results] == [Outcome.OK] * 5
    assert [r.value for r in results] == [1, 2, 3, 4, 5]
    assert read.seqs.tolist() == [0, 1, 2, 3, 4]
    assert read.target == "a.nats"


async def test_the_final_read_keeps_only_this_run_and_probe(pair: NatsPair) -> None:
    stream = stream_name()
    await _add_stream(pair.origin.url, stream)
    other_run = _write_probe(pair.origin.url, stream, "run-other")
    mine = _write_probe(pair.origin.url, stream, "run-mine")
    empty = _write_probe(pair.origin.url, stream, "run-empty")

    for seq in range(3):
        await other_run.op(seq)
        await mine.op(seq + 10)

    assert (await mine.final_read()).seqs.tolist() == [10, 11, 12]
    assert (await empty.final_read()).seqs.tolist() == []
    for probe in (other_run, mine, empty):
        await probe.close()


async def test_a_heartbeat_published_twice_outside_the_dedupe_window_is_read_twice(
    pair: NatsPair,
) -> None:
    stream = stream_name()
    await _add_stream(pair.origin.url, stream, duplicate_window=0.1)  # the server's minimum
    probe = _write_probe(pair.origin.url, stream, "run-dup")

    first = [await probe.op(seq) for seq in (0, 1)]
    inside_window = await probe.op(1)  # same Nats-Msg-Id: the server drops it
    await asyncio.sleep(0.3)
    outside_window = await probe.op(1)  # the window has passed: stored again
    read = await probe.final_read()
    await probe.close()

    assert [r.value for r in first] == [1, 2]
    assert inside_window.outcome is Outcome.OK
    assert inside_window.value == 2  # the PubAck names the copy already stored
    assert outside_window.value == 3
    assert read.seqs.tolist() == [0, 1, 1]


async def test_nothing_listening_is_a_failure_not_unknown() -> None:
    probe = _write_probe(f"nats://127.0.0.1:{free_port()}", "S", "run-down")

    result = await probe.op(0)
    await probe.close()

    assert result.outcome is Outcome.FAIL
    assert result.error == "refused"


async def test_no_stream_for_the_subject_is_a_rejection(pair: NatsPair) -> None:
    probe = _write_probe(pair.origin.url, "NOWHERE", "run-nostream")

    result = await probe.op(0)
    await probe.close()

    assert result.outcome is Outcome.FAIL
    assert result.error == "rejected"
    assert result.detail == "no stream takes this subject here"


async def test_a_withheld_ack_is_unknown_and_the_write_may_have_landed(pair: NatsPair) -> None:
    stream = stream_name()
    await _add_stream(pair.origin.url, stream)
    async with FaultProxy() as proxy:
        link, url = await _via_proxy(proxy, pair.origin.url)
        probe = _write_probe(url, stream, "run-timeout", timeout_ms=300)
        before = await probe.op(0)

        link.cut("down")  # the publish reaches the server; its ack never comes back
        withheld = await probe.op(1)
        link.heal()
        after = await probe.op(2)
        await probe.close()

    direct = _write_probe(pair.origin.url, stream, "run-timeout")
    read = await direct.final_read()
    await direct.close()

    assert before.outcome is Outcome.OK
    assert (withheld.outcome, withheld.error) == (Outcome.INFO, "timeout")
    assert (after.outcome, after.value) == (Outcome.OK, 3)
    assert read.seqs.tolist() == [0, 1, 2]  # the unknown write had landed, once


async def test_a_connection_lost_after_sending_is_unknown_at_once(pair: NatsPair) -> None:
    stream = stream_name()
    await _add_stream(pair.origin.url, stream)
    async with FaultProxy() as proxy:
        link, url = await _via_proxy(proxy, pair.origin.url)
        probe = _write_probe(url, stream, "run-lost", timeout_ms=5000)
        await probe.op(0)

        link.cut("down")
        asyncio.get_running_loop().call_later(0.2, link.reset)
        started = time.monotonic()
        lost = await probe.op(1)
        elapsed = time.monotonic() - started
        link.heal()
        # The client does not reconnect by itself: the next op opens a new connection, and
        # nothing buffered by the lost one is sent again.
        again = await probe.op(2)
        await probe.close()

    direct = _write_probe(pair.origin.url, stream, "run-lost")
    read = await direct.final_read()
    await direct.close()

    assert (lost.outcome, lost.error) == (Outcome.INFO, "conn_lost")
    assert elapsed < 1.0  # not the 5 s request timeout
    assert (again.outcome, again.value) == (Outcome.OK, 3)
    assert read.seqs.tolist() == [0, 1, 2]


async def test_the_probe_follows_a_switch_and_reconnects(pair: NatsPair) -> None:
    stream = stream_name()
    await _add_stream(pair.origin.url, stream)
    probe = _write_probe(f"nats://127.0.0.1:{free_port()}", stream, "run-switch")

    down = await probe.op(0)
    probe.route.switch("c.nats", NatsTarget(url=pair.origin.url, stream=stream))
    up = await probe.op(1)
    read = await probe.final_read()
    await probe.close()

    assert (down.outcome, down.error) == (Outcome.FAIL, "refused")
    assert (up.outcome, up.value) == (Outcome.OK, 1)
    assert read.seqs.tolist() == [1]
    assert read.target == "c.nats"


async def test_the_mirror_probe_reports_the_highest_heartbeat_the_mirror_holds(
    pair: NatsPair,
) -> None:
    stream = stream_name()
    await pair.add_mirrored_stream(stream, stream)
    writer = _write_probe(pair.origin.url, stream, "run-mirror")
    mirror = _mirror_probe(pair.mirror.url, stream, "run-mirror")

    nothing_yet = await mirror.op(0)
    for seq in range(4):
        await writer.op(seq)
    sampled = await _sample_until(mirror, 3)
    await writer.close()
    await mirror.close()

    assert (nothing_yet.outcome, nothing_yet.value) == (Outcome.OK, None)
    assert sampled == 3


async def test_the_mirror_probe_fails_when_its_server_is_down() -> None:
    mirror = _mirror_probe(f"nats://127.0.0.1:{free_port()}", "S", "run-x")

    result = await mirror.op(0)
    await mirror.close()

    assert (result.outcome, result.error) == (Outcome.FAIL, "refused")


async def test_a_final_read_from_a_dead_server_is_a_target_error() -> None:
    port = free_port()
    probe = _write_probe(f"nats://127.0.0.1:{port}", "S", "run-x")

    with pytest.raises(TargetError, match=r"cannot connect to a\.nats for the final read: "
                                          r"ConnectionRefusedError"):
        await probe.final_read()


async def _sample_until(probe: NatsMirrorProbe, wanted: int) -> int | None:
    """The mirror probe's value once it reaches `wanted` (or the last one after 10 s)."""
    deadline = time.monotonic() + 10
    value = None
    while time.monotonic() < deadline and value != wanted:
        value = (await probe.op(0)).value
        await asyncio.sleep(0.05)
    return value
