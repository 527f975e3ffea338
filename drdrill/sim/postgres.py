"""The simulator's PostgreSQL: a primary in one region, its streaming standby in the other.

The standby streams through a fault-proxy link (`pg-replication`), so the `replication-paused`
scenario can hold WAL on the link while the primary keeps acknowledging writes, then kill the
primary and drop what the link still held: those writes are lost, and the simulator knows
exactly which, from the old primary's own data directory.

Clients reach each server through a link too (`pg-primary-client`, `pg-secondary-client`), so
the `partition` and `split-brain` scenarios (drdrill.sim.chaos) can cut them at known instants.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import asyncpg
import numpy as np

from drdrill.probes.base import seqs_to_ranges
from drdrill.sim.chaos import (
    CHAOS_SCENARIOS,
    cut_faults,
    heal_step,
    promotion_instant,
    seqs_written_after,
)
from drdrill.sim.component import PRIMARY, SECONDARY, DrillSlice, SimComponent, SimEnv
from drdrill.sim.pgcluster import PgPair
from drdrill.sim.pgnode import DATABASE, SUPERUSER
from drdrill.sim.procs import free_port
from drdrill.sim.truth import lost_writes_truth

if TYPE_CHECKING:
    from drdrill.drills.runner import DrillRun

logger = logging.getLogger(__name__)

WRITE_PROBE = "pg-write"
PINNED_PROBE = "pg-write-pinned"  # split-brain: a writer never switched off the old primary
REPLICA_PROBE = "pg-replica"
PRIMARY_READ_PROBE = "pg-read-primary"
LINK = "pg-replication"
CLIENT_LINKS = {PRIMARY: "pg-primary-client", SECONDARY: "pg-secondary-client"}
TABLE = "drdrill_heartbeat"


class PostgresComponent(SimComponent):
    """A real PostgreSQL primary and streaming standby on loopback."""

    name = "postgres"

    def __init__(self) -> None:
        self.pair: PgPair | None = None
        self.client_ports: dict[str, int] = {}

    async def start(self, env: SimEnv) -> None:
        primary_port, standby_port = free_port(), free_port()
        link = await env.proxy.add_link(LINK, upstream=("127.0.0.1", primary_port))
        for region, port in ((PRIMARY, primary_port), (SECONDARY, standby_port)):
            client = await env.proxy.add_link(CLIENT_LINKS[region], upstream=("127.0.0.1", port))
            self.client_ports[region] = client.listen_port
        self.pair = await PgPair.create(
            env.workdir / "postgres",
            replication_port=link.listen_port,
            primary_port=primary_port,
            standby_port=standby_port,
            names=(PRIMARY, SECONDARY),
        )

    @property
    def started(self) -> PgPair:
        if self.pair is None:
            raise RuntimeError("the PostgreSQL pair has not been started")
        return self.pair

    def drill_slice(self, env: SimEnv) -> DrillSlice:
        interval = env.scenario.interval_ms
        probes = [
            {"name": WRITE_PROBE, "kind": "postgres.write", "target": f"{PRIMARY}.postgres",
             "interval_ms": interval, "timeout_ms": 1000, "critical": True},
            {"name": REPLICA_PROBE, "kind": "postgres.replica",
             "target": f"{SECONDARY}.postgres", "watches": WRITE_PROBE,
             "interval_ms": 2 * interval, "timeout_ms": 1000},
        ]
        if env.scenario.name == "partition":
            # The partition cuts the primary's clients, so every probe reads or writes the
            # primary: the standby is neither cut nor part of what the scenario measures.
            probes[1] = {**probes[1], "name": PRIMARY_READ_PROBE, "target": f"{PRIMARY}.postgres",
                         "critical": True}
        if env.scenario.name == "split-brain":
            probes.append({"name": PINNED_PROBE, "kind": "postgres.write",
                           "target": f"{PRIMARY}.postgres", "interval_ms": interval,
                           "timeout_ms": 1000, "critical": False})
        return DrillSlice(
            regions={
                region: {"postgres": {"dsn": self._client_dsn(region), "table": TABLE}}
                for region in (PRIMARY, SECONDARY)
            },
            probes=probes,
            faults=self._faults(env),
            failover=self._failover(env),
            rollback=[heal_step(env, "heal-postgres-links", [LINK, *CLIENT_LINKS.values()])],
        )

    def _client_dsn(self, region: str) -> str:
        port = self.client_ports[region]
        return f"postgresql://{SUPERUSER}@127.0.0.1:{port}/{DATABASE}"

    def _faults(self, env: SimEnv) -> list[dict[str, Any]]:
        """partition: the clients' link; split-brain: the replication link; else: the kill."""
        if env.scenario.name == "partition":
            return cut_faults(env, [CLIENT_LINKS[PRIMARY]], env.scenario.seconds)
        if env.scenario.name == "split-brain":
            return cut_faults(env, [LINK], None)
        pid_file = self.started.primary.data_dir / "postmaster.pid"
        return [{"kind": "process.kill", "label": f"{PRIMARY}.postgres", "pid_file": str(pid_file)}]

    def _failover(self, env: SimEnv) -> list[dict[str, Any]]:
        if env.scenario.name == "partition":
            return []  # the clients come back to the same primary when the link heals
        promote = {"kind": "postgres.promote", "name": "promote-postgres",
                   "target": f"{SECONDARY}.postgres", "timeout_seconds": 30}
        if env.scenario.name == "split-brain":
            promote["switch_probes"] = [WRITE_PROBE]
            promote["pinned_probes"] = [PINNED_PROBE]  # stays behind on the old primary
        return [promote]

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
        if env.scenario.name in CHAOS_SCENARIOS:
            return  # their fault is the cut itself; the primary's region did not die

        # Whatever WAL the link still holds dies with the primary's region: drop it, so that
        # nothing sent before T0 trickles to the standby after the primary is gone.
        env.proxy.link(LINK).reset()
        run.note("info", f"sim: replication link {LINK} reset after T0")

    async def truth(self, run: DrillRun, env: SimEnv) -> list[dict[str, Any]]:
        """Heartbeats the restarted old primary holds that the promoted standby lacks."""
        if env.scenario.name == "partition":
            return []  # no failover: the truth is the cut's own instants, in the journal
        if env.scenario.name == "split-brain":
            return await self._split_brain_truth(run)

        pair = self.started
        new_rows = await _heartbeats(pair.standby.dsn, run.run_id)
        await pair.restart_alone(pair.primary)
        old_rows = await _heartbeats(pair.primary.dsn, run.run_id)

        return [lost_writes_truth(
            WRITE_PROBE, old_rows, new_rows,
            "rows on the restarted old primary missing from the promoted standby",
        )]

    async def _split_brain_truth(self, run: DrillRun) -> list[dict[str, Any]]:
        """Per writer, from the servers: rows the old primary (still running, read directly)
        holds that the store's final-read server lacks, and rows it took after the promotion."""
        pair = self.started
        promoted_ns = promotion_instant(run.journal.path, "postgres.promote")
        old_rows = {p: await _heartbeats(pair.primary.dsn, run.run_id, p)
                    for p in (WRITE_PROBE, PINNED_PROBE)}
        # The switched writer's store now lives on the promoted standby; the pinned one's
        # never left the old primary.
        new_rows = {WRITE_PROBE: await _heartbeats(pair.standby.dsn, run.run_id, WRITE_PROBE),
                    PINNED_PROBE: old_rows[PINNED_PROBE]}
        records = []
        for probe in (WRITE_PROBE, PINNED_PROBE):
            after = np.array([], dtype=np.int64) if promoted_ns is None else \
                await seqs_written_after(pair.primary.dsn, TABLE, run.run_id, probe,
                                         promoted_ns, run.clock)
            records.append(lost_writes_truth(
                probe, old_rows[probe], new_rows[probe],
                "old primary (never killed) read directly: rows the store's final-read server"
                " lacks; rows whose transaction began after the promote step ended (server"
                " now() against the harness's instant, in UTC)",
                split_brain_writes=int(after.size),
                split_brain_ranges=seqs_to_ranges(after)[0],
            ))
        return records

    async def stop(self) -> None:
        if self.pair is not None:
            await self.pair.stop()


async def _heartbeats(dsn: str, run_id: str, probe: str = WRITE_PROBE) -> np.ndarray:
    """Every distinct seq of a write probe's heartbeats of this run on one server."""
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        rows = await conn.fetch(
            f"SELECT DISTINCT seq FROM {TABLE} WHERE run_id = $1 AND probe = $2 ORDER BY seq",
            run_id,
            probe,
        )
    finally:
        await conn.close()
    return np.array([row[0] for row in rows], dtype=np.int64)
