"""The simulator's PostgreSQL pair: a real primary with a real streaming standby on loopback.

Both servers are PostgreSQL 16 from the `pgserver` package (or `DRDRILL_PG_BIN`), run as the
unprivileged user when we are root, listen on 127.0.0.1 only, have no unix socket, and trust
every loopback connection: this is a local simulator, and the DSNs carry no password that
could leak into a journal.

The standby follows the primary through `replication_host:replication_port`, so the caller
can put a TCP fault proxy on the replication link; the initial copy (pg_basebackup) goes to
the primary directly, because it is setup, not something a drill measures.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from pathlib import Path

import asyncpg

from drdrill.sim.pgbin import (
    PgBinariesNotFound,
    PgClusterError,
    check_runnable,
    find_pg_bin,
    run_tool,
)
from drdrill.sim.pgnode import DATABASE, SUPERUSER, PgNode
from drdrill.sim.procs import check_reachable, free_port, server_user

__all__ = ["PgBinariesNotFound", "PgClusterError", "PgNode", "PgPair", "find_pg_bin"]

logger = logging.getLogger(__name__)

_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_POLL_SECONDS = 0.05

# Appended to the primary's postgresql.conf; pg_basebackup copies it to the standby.
_SETTINGS = """
# drdrill simulator
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
wal_level = replica
max_wal_senders = 8
max_replication_slots = 8
hot_standby = on
fsync = on
synchronous_commit = on
full_page_writes = on
# A standby whose replication link was cut by the fault proxy retries after this long.
wal_retrieve_retry_interval = '500ms'
lc_messages = 'C'
log_line_prefix = '%m [%p] '
"""

_PG_HBA = """\
# drdrill simulator: loopback only, trusted (a local simulator holding heartbeats)
host    all             all             127.0.0.1/32            trust
host    replication     all             127.0.0.1/32            trust
"""


class PgPair:
    """A primary and its streaming standby, built by `PgPair.create`."""

    def __init__(self, workdir: Path, primary: PgNode, standby: PgNode) -> None:
        self.workdir = workdir
        self.primary = primary
        self.standby = standby

    @property
    def nodes(self) -> tuple[PgNode, PgNode]:
        return self.primary, self.standby

    @classmethod
    async def create(
        cls,
        workdir: Path,
        *,
        replication_host: str = "127.0.0.1",
        replication_port: int | None = None,
        primary_port: int | None = None,
        standby_port: int | None = None,
        names: tuple[str, str] = ("primary", "standby"),
        setup_timeout: float = 60.0,
    ) -> PgPair:
        """Build and start the pair under `workdir` (data in `<name>/`, logs in `logs/`).

        The standby streams from `replication_host:replication_port` (default: the primary's
        own port); give `primary_port` to start a proxy towards it before calling. Returns
        once the primary's pg_stat_replication shows the standby streaming. A pair is always
        built fresh: FileExistsError if `workdir/<name>` exists.
        """
        for name in names:
            if not _NAME_PATTERN.match(name):
                raise ValueError(f"node name {name!r} must match {_NAME_PATTERN.pattern}")
        if names[0] == names[1]:
            raise ValueError(f"node names must differ, got {names!r}")

        bin_dir = find_pg_bin()
        log_dir = workdir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        check_reachable(workdir, server_user())
        await check_runnable(bin_dir, log_dir)

        primary = PgNode(
            names[0], _server_dir(workdir / names[0]), primary_port or free_port(), bin_dir, log_dir
        )
        standby = PgNode(
            names[1], workdir / names[1], standby_port or free_port(), bin_dir, log_dir
        )
        pair = cls(workdir, primary, standby)
        try:
            await pair._build(replication_host, replication_port or primary.port, setup_timeout)
        except BaseException:
            await pair.stop()
            raise
        return pair

    async def wait_streaming(self, streaming_timeout: float = 30.0) -> None:
        """Wait until the primary's pg_stat_replication shows the standby streaming."""
        logger.info("wait streaming started standby=%s", self.standby.name)
        deadline = time.monotonic() + streaming_timeout
        conn = await asyncpg.connect(self.primary.dsn)
        try:
            while True:
                state = await conn.fetchval(
                    "SELECT state FROM pg_stat_replication WHERE application_name = $1",
                    self.standby.name,
                )
                if state == "streaming":
                    break
                if time.monotonic() >= deadline:
                    raise TimeoutError(
                        f"{self.standby.name} not streaming after {streaming_timeout}s "
                        f"(state {state})"
                    )
                await asyncio.sleep(_POLL_SECONDS)
        finally:
            await conn.close()
        logger.info("wait streaming complete standby=%s", self.standby.name)

    async def restart_alone(self, node: PgNode, ready_timeout: float = 30.0) -> PgNode:
        """Start a stopped or killed primary's data directory again, on its own, on a new
        free port, so its contents can be read; returns `node` with its new port.

        It runs crash recovery and comes up as a primary following nobody; the new port
        keeps clients that still point at the old one away from it.
        """
        if node.is_running:
            raise PgClusterError(f"{node.process_name} is still running")
        for marker in ("standby.signal", "recovery.signal"):
            if (node.data_dir / marker).exists():
                raise PgClusterError(
                    f"{node.data_dir / marker} exists: {node.name} would follow a primary"
                )

        node.port = free_port()
        logger.info("restart alone started name=%s port=%d", node.process_name, node.port)
        await node.start(ready_timeout)
        logger.info("restart alone complete name=%s port=%d", node.process_name, node.port)
        return node

    async def stop(self, stop_timeout: float = 30.0) -> None:
        """Stop both servers; the workdir and everything in it stays for the caller."""
        await asyncio.gather(*(node.stop(stop_timeout) for node in self.nodes))

    async def _build(
        self, replication_host: str, replication_port: int, setup_timeout: float
    ) -> None:
        # 1. The primary: a fresh cluster with our settings, started, holding `drill`.
        await self._init_primary()
        await self.primary.start(setup_timeout)
        conn = await asyncpg.connect(self.primary.dsn_of("postgres"))
        try:
            await conn.execute(f"CREATE DATABASE {DATABASE}")
        finally:
            await conn.close()

        # 2. The standby: a base backup of the primary, then pointed at the replication path.
        await self._base_backup()
        _point_standby(self.standby, replication_host, replication_port)
        await self.standby.start(setup_timeout)
        await self.wait_streaming(setup_timeout)

    async def _init_primary(self) -> None:
        data_dir = self.primary.data_dir
        await run_tool(
            f"{self.primary.name}.initdb",
            [
                str(self.primary.bin_dir / "initdb"),
                "-D",
                str(data_dir),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--no-locale",
                "--encoding=UTF8",
                "--no-instructions",
            ],
            self.primary.log_dir,
        )
        with (data_dir / "postgresql.conf").open("a") as conf:
            conf.write(_SETTINGS)
        (data_dir / "pg_hba.conf").write_text(_PG_HBA)

    async def _base_backup(self) -> None:
        # The slot makes the primary keep WAL the standby has not received, so a replication
        # link cut by a fault never leaves the standby unable to catch up.
        slot = re.sub(r"[^a-z0-9_]", "_", self.standby.name.lower())
        _server_dir(self.standby.data_dir)
        await run_tool(
            f"{self.standby.name}.pg_basebackup",
            [
                str(self.standby.bin_dir / "pg_basebackup"),
                "-D",
                str(self.standby.data_dir),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.primary.port),
                "-U",
                SUPERUSER,
                "--write-recovery-conf",
                "--wal-method=stream",
                "--create-slot",
                f"--slot={slot}",
                "--checkpoint=fast",
                "--no-password",
            ],
            self.standby.log_dir,
        )


def _server_dir(path: Path) -> Path:
    """Create `path` (mode 0700) owned by the server user; return it."""
    path.mkdir(mode=0o700, parents=True, exist_ok=False)
    owner = server_user()
    if owner is not None:
        os.chown(path, *owner)
    return path


def _point_standby(standby: PgNode, host: str, port: int) -> None:
    """Make the standby stream from host:port, replacing the conninfo pg_basebackup wrote."""
    auto_conf = standby.data_dir / "postgresql.auto.conf"
    kept = [
        line
        for line in auto_conf.read_text().splitlines()
        if not line.startswith("primary_conninfo")
    ]
    conninfo = (
        f"host={host} port={port} user={SUPERUSER} "
        f"application_name={standby.name} connect_timeout=2"
    )
    auto_conf.write_text("\n".join([*kept, f"primary_conninfo = '{conninfo}'", ""]))
    logger.info("standby pointed name=%s host=%s port=%d", standby.name, host, port)
