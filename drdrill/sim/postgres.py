"""The simulator's PostgreSQL: a primary in one region, its streaming standby in the other.

The standby streams through a fault-proxy link (`pg-replication`), so the `replication-paused`
scenario can hold WAL on the link while the primary keeps acknowledging writes, then kill the
primary and drop what the link still held: those writes are lost, and the simulator knows
exactly which, from the old primary's own data directory.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import asyncpg
import numpy as np

from drdrill.probes.base import seqs_to_ranges
from drdrill.sim.component import PRIMARY, SECONDARY, DrillSlice, SimComponent, SimEnv
from drdrill.sim.pgcluster import PgPair
from drdrill.sim.procs import free_port

if TYPE_CHECKING:
    from drdrill.drills.runner import DrillRun

logger = logging.getLogger(__name__)

WRITE_PROBE = "pg-write"
REPLICA_PROBE = "pg-replica"
LINK = "pg-replication"
TABLE = "drdrill_heartbeat"


class PostgresComponent(SimComponent):
    """A real PostgreSQL primary and streaming standby on loopback."""

    name = "postgres"

    def __init__(self) -> None:
        self.pair: PgPair | None = None

    async def start(self, env: SimEnv) -> None:
        primary_port = free_port()
        link = await env.proxy.add_link(LINK, upstream=("127.0.0.1", primary_port))
        self.pair = await PgPair.create(
            env.workdir / "postgres",
            replication_port=link.listen_port,
            primary_port=primary_port,
            names=(PRIMARY, SECONDARY),
        )

    @property
    def started(self) -> PgPair:
        if self.pair is None:
            raise RuntimeError("the PostgreSQL pair has not been started")
        return self.pair

    def drill_slice(self, env: SimEnv) -> DrillSlice:
        pair = self.started
        interval = env.scenario.interval_ms
        return DrillSlice(
            regions={
                PRIMARY: {"postgres": {"dsn": pair.primary.dsn, "table": TABLE}},
                SECONDARY: {"postgres": {"dsn": pair.standby.dsn, "table": TABLE}},
            },
            probes=[
                {"name": WRITE_PROBE, "kind": "postgres.write", "target": f"{PRIMARY}.postgres",
                 "interval_ms": interval, "timeout_ms": 1000, "critical": True},
                {"name": REPLICA_PROBE, "kind": "postgres.replica",
                 "target": f"{SECONDARY}.postgres", "watches": WRITE_PROBE,
                 "interval_ms": 2 * interval, "timeout_ms": 1000},
            ],
            faults=[
                {"kind": "process.kill", "label": f"{PRIMARY}.postgres",
                 "pid_file": str(pair.primary.data_dir / "postmaster.pid")},
            ],
            failover=[
                {"kind": "postgres.promote", "name": "promote-postgres",
                 "target": f"{SECONDARY}.postgres", "timeout_seconds": 30},
            ],
        )

    def facts(self) -> dict[str, Any]:
        pair = self.pair
        return {
            "backend": "postgresql (pgserver binaries)",
            "replication": "streaming, asynchronous, through the fault proxy",
            "primary_port": pair.primary.port if pair else None,
            "standby_port": pair.standby.port if pair else None,
        }

    async def before_fault(self, run: DrillRun, env: SimEnv) -> None:
        if env.scenario.name != "replication-paused":
            return

        # Hold the WAL stream on the link: the primary keeps committing and acknowledging
        # (replication is asynchronous), the standby receives nothing more.
        env.proxy.link(LINK).blackhole()
        run.note("info", f"sim: replication link {LINK} held for {env.scenario.pause_seconds} s")
        await asyncio.sleep(env.scenario.pause_seconds)

    async def after_fault(self, run: DrillRun, env: SimEnv) -> None:
        # Whatever WAL the link still holds dies with the primary's region: drop it, so that
        # nothing sent before T0 trickles to the standby after the primary is gone.
        env.proxy.link(LINK).reset()
        run.note("info", f"sim: replication link {LINK} reset after T0")

    async def truth(self, run: DrillRun, env: SimEnv) -> list[dict[str, Any]]:
        """Heartbeats the restarted old primary holds that the promoted standby lacks."""
        pair = self.started
        new_rows = await _heartbeats(pair.standby.dsn, run.run_id)
        await pair.restart_alone(pair.primary)
        old_rows = await _heartbeats(pair.primary.dsn, run.run_id)

        lost = np.setdiff1d(old_rows, new_rows)
        ranges, _ = seqs_to_ranges(lost)
        logger.info("sim truth store=%s lost=%d ranges=%s", WRITE_PROBE, lost.size, ranges)
        return [{
            "k": "truth",
            "store": WRITE_PROBE,
            "lost_writes": int(lost.size),
            "lost_ranges": ranges,
            "old_primary_rows": int(old_rows.size),
            "new_primary_rows": int(new_rows.size),
            "method": "rows on the restarted old primary missing from the promoted standby",
        }]

    async def stop(self) -> None:
        if self.pair is not None:
            await self.pair.stop()


async def _heartbeats(dsn: str, run_id: str) -> np.ndarray:
    """Every distinct seq of the write probe's heartbeats of this run on one server."""
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        rows = await conn.fetch(
            f"SELECT DISTINCT seq FROM {TABLE} WHERE run_id = $1 AND probe = $2 ORDER BY seq",
            run_id,
            WRITE_PROBE,
        )
    finally:
        await conn.close()
    return np.array([row[0] for row in rows], dtype=np.int64)
