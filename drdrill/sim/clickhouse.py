"""The simulator's ClickHouse: a server per region, the secondary fed by simulated replication.

Each region runs one server process (`drdrill.sim.chnode`: a real `clickhouse server` when the
machine has the binary, else the chdb endpoint). Neither setup runs ClickHouse Keeper, so the
heartbeat table is a plain MergeTree on each side and the harness copies rows from the
primary to the secondary (`drdrill.sim.ch_replicator`), each once it is `lag` seconds old.
The store therefore says `replication: simulated` in the journal, and the `sim` record says
which backend ran.

Scenario `clickhouse-replica-behind`: the replica runs `--lag-seconds` behind when the primary
is killed; everything written within the lag is lost. In the other scenarios the replica
follows as closely as the 100 ms polling allows. The truth is read from the servers
themselves: the old primary is restarted alone on its data directory after the drill, and the
rows it holds that the secondary lacks are the lost writes.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import aiohttp
import numpy as np

from drdrill.sim.ch_replicator import Replicator
from drdrill.sim.chnode import Backend, ChNode, ChNodeError, find_backend
from drdrill.sim.component import PRIMARY, SECONDARY, DrillSlice, SimComponent, SimEnv
from drdrill.sim.procs import check_reachable, server_user
from drdrill.sim.truth import lost_writes_truth

if TYPE_CHECKING:
    from drdrill.drills.runner import DrillRun

logger = logging.getLogger(__name__)

WRITE_PROBE = "ch-write"
REPLICA_PROBE = "ch-replica"
DATABASE = "default"
TABLE = "drdrill_heartbeat"
SCENARIO = "clickhouse-replica-behind"
REPLICATION_NOTE = "simulated"
POLL_SECONDS = 0.1


class ClickHouseComponent(SimComponent):
    """Two ClickHouse servers on loopback and the harness's replication between them."""

    name = "clickhouse"

    def __init__(self) -> None:
        self.backend: Backend | None = None
        self.primary: ChNode | None = None
        self.secondary: ChNode | None = None
        self.replicator: Replicator | None = None
        self.lag_seconds = 0.0
        self.server_version: str | None = None

    async def start(self, env: SimEnv) -> None:
        backend = self.backend = find_backend()
        base = env.workdir / "clickhouse"
        logs = base / "logs"
        logs.mkdir(parents=True)
        check_reachable(base, server_user())

        self.primary = ChNode(PRIMARY, base / PRIMARY, backend, logs)
        self.secondary = ChNode(SECONDARY, base / SECONDARY, backend, logs)
        await asyncio.gather(self.primary.start(), self.secondary.start())
        self.server_version = (await _query(self.primary.url, "SELECT version()")).strip()

        self.lag_seconds = env.scenario.lag_seconds if env.scenario.name == SCENARIO else 0.0
        self.replicator = Replicator(
            ("127.0.0.1", self.primary.port), ("127.0.0.1", self.secondary.port),
            DATABASE, TABLE, self.lag_seconds, POLL_SECONDS,
        )
        await self.replicator.start()

    def _nodes(self) -> tuple[ChNode, ChNode]:
        if self.primary is None or self.secondary is None:
            raise ChNodeError("the ClickHouse servers have not been started")
        return self.primary, self.secondary

    def drill_slice(self, env: SimEnv) -> DrillSlice:
        primary, secondary = self._nodes()
        interval = env.scenario.interval_ms
        return DrillSlice(
            regions={
                PRIMARY: {"clickhouse": _target(primary)},
                SECONDARY: {"clickhouse": _target(secondary)},
            },
            probes=[
                {"name": WRITE_PROBE, "kind": "clickhouse.write",
                 "target": f"{PRIMARY}.clickhouse", "interval_ms": interval,
                 "timeout_ms": 1000, "critical": True},
                {"name": REPLICA_PROBE, "kind": "clickhouse.replica",
                 "target": f"{SECONDARY}.clickhouse", "watches": WRITE_PROBE,
                 "interval_ms": 2 * interval, "timeout_ms": 1000},
            ],
            faults=[
                {"kind": "process.kill", "label": primary.process_name, "pid": primary.pid},
            ],
            failover=[
                {"kind": "clickhouse.switch", "name": "switch-clickhouse",
                 "target": f"{SECONDARY}.clickhouse", "timeout_seconds": 30},
            ],
        )

    def facts(self) -> dict[str, Any]:
        facts: dict[str, Any] = self.backend.describe() if self.backend else {}
        facts.update({
            "server_version": self.server_version,
            "replication": f"simulated by the harness: rows copied to the secondary once"
                           f" {self.lag_seconds:g} s old, polled every {POLL_SECONDS:g} s",
            "lag_seconds": self.lag_seconds,
            "primary_port": self.primary.port if self.primary else None,
            "secondary_port": self.secondary.port if self.secondary else None,
        })
        return facts

    async def after_fault(self, run: DrillRun, env: SimEnv) -> None:
        # The replication stream dies with the primary's region: nothing read from the
        # primary before T0 may reach the secondary after it.
        if self.replicator is not None:
            await self.replicator.stop()
            run.note("info", f"sim: ClickHouse replication stopped at T0 after copying"
                             f" {self.replicator.copied} rows")

    async def truth(self, run: DrillRun, env: SimEnv) -> list[dict[str, Any]]:
        """Heartbeats the old primary holds (restarted alone) that the secondary lacks."""
        primary, secondary = self._nodes()
        kept = await heartbeat_seqs(secondary.url, run.run_id)
        if not primary.is_running:
            await primary.restart_alone()
        held = await heartbeat_seqs(primary.url, run.run_id)

        return [lost_writes_truth(
            WRITE_PROBE, held, kept,
            "rows on the restarted old primary missing from the secondary (replication simulated)",
        )]

    async def stop(self) -> None:
        if self.replicator is not None:
            await self.replicator.stop()
        await asyncio.gather(*(node.stop() for node in (self.primary, self.secondary) if node))


def _target(node: ChNode) -> dict[str, Any]:
    return {"url": node.url, "database": DATABASE, "table": TABLE,
            "replication_note": REPLICATION_NOTE}


async def heartbeat_seqs(url: str, run_id: str) -> np.ndarray:
    """Every distinct seq of the write probe's heartbeats of this run on one server.

    A plain HTTP query, not the probe's client: the truth shares nothing with the measurement
    but the table.
    """
    body = await _query(
        url,
        f"SELECT DISTINCT seq FROM {DATABASE}.{TABLE}"
        " WHERE run_id = {run_id:String} AND probe = {probe:String} ORDER BY seq",
        {"param_run_id": run_id, "param_probe": WRITE_PROBE},
    )
    return np.array([int(line) for line in body.split()], dtype=np.int64)


async def _query(url: str, sql: str, params: dict[str, str] | None = None) -> str:
    """Run `sql` over ClickHouse's HTTP interface; the TabSeparated body, or ChNodeError."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        async with session.post(url, params=params or {}, data=sql.encode()) as response:
            body = await response.text()
            if response.status != 200:
                raise ChNodeError(f"{url}: query failed ({response.status}): {body.strip()}")
            return body
